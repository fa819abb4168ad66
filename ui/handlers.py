"""What the Embed, Rerank and Status tabs do: async calls into the in-process Engine, results as tables."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, ParamSpec, TypeVar

import gradio as gr
import numpy as np
import pandas as pd

from service import __version__
from service.config import Settings
from service.engine import EmbedResult, Engine, RerankResult
from service.engine.postprocess import l2_normalize
from service.errors import ServiceError
from service.visible import has_visible_text
from ui.bridge import EngineBridge
from ui.render import counters_table, duration, heatmap_html, key_value_table, latency_line, short

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

RerankChoice = Literal["bi-encoder", "cross-encoder", "both"]
EMBED_COLUMNS = ["#", "text", "tokens", "dims", "norm", "first values"]
RANK_COLUMNS = ["rank", "score", "raw", "#", "passage"]


def shown(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Service errors become a readable message on the page (gr.Error) instead of a generic 'Error'."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await handler(*args, **kwargs)
        except ServiceError as exc:
            logger.info("console %s: %s", handler.__name__, exc.message)
            raise gr.Error(exc.message) from exc

    return wrapper


def lines(blob: str) -> list[str]:
    """Lines with visible text, stripped: one text (or passage) per line (blank or invisible lines skipped)."""
    return [line.strip() for line in (blob or "").splitlines() if has_visible_text(line)]


def api_keys(settings: Settings) -> list[str]:
    """The configured API keys (empty = none), read defensively: older builds have no API_KEY setting."""
    keys = getattr(settings, "api_keys", None)
    if isinstance(keys, list):
        return [str(key) for key in keys]
    raw: Any = getattr(settings, "api_key", None)
    if raw is not None and hasattr(raw, "get_secret_value"):
        raw = raw.get_secret_value()
    return [key.strip() for key in str(raw or "").split(",") if key.strip()]


class ConsoleHandlers:
    """The console's event handlers; each is a coroutine Gradio awaits on the server's event loop."""

    def __init__(self, bridge: EngineBridge, settings: Settings) -> None:
        self.bridge = bridge
        self.settings = settings

    # ---- Embed ------------------------------------------------------------------------------

    @shown
    async def embed(self, texts_blob: str, input_type: str, dimensions: float | None) -> tuple[pd.DataFrame, str, str]:
        """Table of tokens/dims/norms, cosine heatmap, latency; `dimensions` 0 or blank = native."""
        texts = lines(texts_blob)
        dims = int(dimensions) if dimensions else None
        kind: Any = "query" if input_type == "query" else "document"
        started = time.perf_counter()
        # Raw vectors (Matryoshka-cut, not normalised) show the model's own norms; cosines use unit rows.

        async def work(engine: Engine) -> EmbedResult:
            return await engine.embed(texts, input_type=kind, dimensions=dims, normalize=False)

        result = await self.bridge.call(work)
        wall = time.perf_counter() - started
        raw = result.vectors
        unit = l2_normalize(raw)
        norms = np.linalg.norm(raw, axis=1)
        table = pd.DataFrame(
            [
                [i + 1, short(text, 60), result.token_counts[i], raw.shape[1], round(float(norms[i]), 4),
                 ", ".join(f"{v:+.3f}" for v in unit[i, :4]) + ", …"]
                for i, text in enumerate(texts)
            ],
            columns=EMBED_COLUMNS,
        )  # fmt: skip
        similarity = (unit @ unit.T).astype(np.float32)
        summary = latency_line(f"embedded {len(texts)} as {kind}", wall, result.timings, result.total_tokens)
        return table, heatmap_html(texts, similarity), summary

    # ---- Rerank -----------------------------------------------------------------------------

    def rerank_methods(self) -> dict[str, Any]:
        """Method choices for this deployment: 'both' and 'cross-encoder' only with a cross-encoder."""
        try:
            has_cross = self.bridge.engine().scorer is not None
        except ServiceError:
            has_cross = False
        choices = ["both", "cross-encoder", "bi-encoder"] if has_cross else ["bi-encoder"]
        info = (
            "'both' ranks with the bi-encoder and the cross-encoder side by side"
            if has_cross
            else "no cross-encoder loaded (set CROSS_ENCODER_MODEL for cross-encoder and side-by-side)"
        )
        update: dict[str, Any] = gr.update(choices=choices, value=choices[0], info=info)
        return update

    @shown
    async def rerank(
        self, query: str, passages_blob: str, top_k: float | None, method: str
    ) -> tuple[str, pd.DataFrame, pd.DataFrame, dict[str, Any], str, pd.DataFrame, pd.DataFrame, str]:
        """Left: the chosen method (or the bi-encoder for 'both'); right: the cross-encoder for 'both'."""
        passages = lines(passages_blob)
        keep = int(top_k) if top_k else None
        wanted: list[Literal["bi-encoder", "cross-encoder"]]
        if method == "both":
            wanted = ["bi-encoder", "cross-encoder"]
        else:
            wanted = ["cross-encoder" if method == "cross-encoder" else "bi-encoder"]
        runs: list[tuple[RerankResult, float]] = []
        for name in wanted:

            async def work(engine: Engine, name: Literal["bi-encoder", "cross-encoder"] = name) -> RerankResult:
                return await engine.rerank(query, passages, top_k=keep, method=name)

            started = time.perf_counter()
            result = await self.bridge.call(work)
            runs.append((result, time.perf_counter() - started))
        left = self._ranked(passages, runs[0][0])
        right = self._ranked(passages, runs[1][0]) if len(runs) > 1 else ("", _empty_ranking(), _empty_chart())
        latency = "  \n".join(latency_line(r.method, wall, r.timings, r.total_tokens) for r, wall in runs)
        return (*left, gr.update(visible=len(runs) > 1), *right, latency)

    @staticmethod
    def _ranked(passages: list[str], result: RerankResult) -> tuple[str, pd.DataFrame, pd.DataFrame]:
        score_kind = "cosine" if result.method == "bi-encoder" else "sigmoid of the logit, 0..1"
        title = f"### {result.method}\nscore = {score_kind}"
        table = pd.DataFrame(
            [
                [rank, round(item.score, 4), round(item.raw_score, 4), item.index, passages[item.index]]
                for rank, item in enumerate(result.items, 1)
            ],
            columns=RANK_COLUMNS,
        )
        chart = pd.DataFrame(
            {
                "passage": [
                    f"{rank}. [{item.index}] {short(passages[item.index], 28)}"
                    for rank, item in enumerate(result.items, 1)
                ],
                "score": [item.score for item in result.items],
            }
        )
        return title, table, chart

    # ---- Status -----------------------------------------------------------------------------

    async def status(self) -> str:
        """Model, backend, device, dim, cross-encoder, counters and uptime as Markdown."""
        try:
            engine = self.bridge.engine()
        except ServiceError as exc:
            return f"**not ready**: {exc.message}"
        return status_markdown(engine, auth=bool(api_keys(self.settings)))


def status_markdown(engine: Engine, *, auth: bool) -> str:
    info = engine.info
    stats = engine.stats()
    overview = key_value_table(
        [
            ("model", info.name),
            ("backend", info.backend),
            ("device", info.device),
            ("dim", info.dim),
            ("max tokens", info.max_tokens),
            ("dtype", info.dtype),
            ("family", info.family.name),
            ("cross-encoder", engine.scorer.info.name if engine.scorer else None),
            ("uptime", duration(float(stats.get("uptime_s", 0.0)))),
            ("model load", f"{engine.load_seconds:.1f} s"),
            ("API key", "required" if auth else "off"),
            ("version", __version__),
        ]
    )
    cache = stats.get("cache", {})
    lookups = int(cache.get("hits", 0)) + int(cache.get("misses", 0))
    hit_rate = f"{100 * int(cache.get('hits', 0)) / lookups:.1f} %" if lookups else "–"
    sections = [
        "### Model",
        overview,
        "### Embedding cache",
        counters_table({"cache": {**cache, "hit rate": hit_rate}}),
        "### Batchers",
        counters_table(stats.get("batchers", {})),
        "API reference: [/docs](../docs) (Swagger UI) · [/health](../health)"
        + (" · with API_KEY set, /docs needs the key in a header" if auth else ""),
    ]
    return "\n\n".join(sections)


def _empty_ranking() -> pd.DataFrame:
    return pd.DataFrame([], columns=RANK_COLUMNS)


def _empty_chart() -> pd.DataFrame:
    return pd.DataFrame({"passage": [], "score": []})
