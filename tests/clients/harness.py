"""Run one client family's calls in its own venv against a live server and hold each answer against /embed, /rerank."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tests.real_apps import app_missing

CALLS_DIR = Path(__file__).resolve().parent / "calls"
KEY = "clients-test-key"  # the server's API_KEY in the "api-key" runs
QUERY = "How do I keep vectors in a database?"
DOCUMENTS = [
    "Qdrant is a vector database written in Rust.",
    "The cat sleeps on the warm windowsill all afternoon.",
    "Store embeddings in a vector store and search them by cosine similarity.",
    "Café über naïve — 東京の天気は晴れです。",  # multi-byte text: token ids must decode to the same string
    "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
]


@dataclass
class Server:
    base: str
    key: str | None  # the server's API_KEY (None: it checks none)
    model: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}


@dataclass
class Native:
    """The native answers every client's answer must equal."""

    query: np.ndarray  # (1, dim), input_type=query
    documents: np.ndarray  # (n, dim), input_type=document
    order: list[int]  # /rerank's indices, best first
    similarity: np.ndarray  # cosine of the query (embedded as a plain text) with each document


def native(server: Server) -> Native:
    def embed(texts: list[str], input_type: str) -> np.ndarray:
        body = {"texts": texts, "input_type": input_type}
        answer = httpx.post(f"{server.base}/embed", json=body, headers=server.headers(), timeout=60)
        answer.raise_for_status()
        return np.array(answer.json()["vectors"], dtype=np.float64)

    rerank = httpx.post(
        f"{server.base}/rerank",
        json={"query": QUERY, "passages": DOCUMENTS},
        headers=server.headers(),
        timeout=60,
    )
    rerank.raise_for_status()
    documents = embed(DOCUMENTS, "document")
    plain_query = embed([QUERY], "document")
    return Native(
        query=embed([QUERY], "query"),
        documents=documents,
        order=[item["index"] for item in rerank.json()["results"]],
        similarity=(documents @ plain_query.T)[:, 0],
    )


def clients_dir() -> Path:
    """EMBEDRANK_CLIENTS_DIR, as .ci/run sets it from .ci/install_clients.sh."""
    value = os.environ.get("EMBEDRANK_CLIENTS_DIR", "")
    if value and (Path(value) / "llamaindex" / "bin" / "python").is_file():
        return Path(value)
    app_missing(f"client libraries: set EMBEDRANK_CLIENTS_DIR (`bash .ci/install_clients.sh` prints it); got {value!r}")


def run_family(family: str, server: Server, timeout_s: float = 240.0) -> dict[str, Any]:
    """Every call of calls/<family>_calls.py in one process of that family's venv: {call: outcome}."""
    folder = clients_dir()
    # The client process only: huggingface_hub refuses even 127.0.0.1 while HF_HUB_OFFLINE is set, and our
    # PYTHONPATH / venv must not leak into theirs. cl100k_base comes from the offline copy install_clients made.
    # (TRANSFORMERS_OFFLINE counts as HF_HUB_OFFLINE for huggingface_hub.)
    dropped = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PYTHONPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env |= {"TIKTOKEN_CACHE_DIR": str(folder / "tiktoken_cache"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    case = {"base": server.base, "key": server.key, "model": server.model, "query": QUERY, "documents": DOCUMENTS}
    with tempfile.TemporaryDirectory() as tmp:
        case_file, out_file = Path(tmp) / "case.json", Path(tmp) / "out.json"
        case_file.write_text(json.dumps(case))
        script = CALLS_DIR / f"{family}_calls.py"
        argv = [str(folder / family / "bin" / "python"), str(script), str(case_file), str(out_file)]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s, cwd=tmp)
        assert done.returncode == 0, f"{family} driver failed:\n{done.stderr[-4000:]}"
        outcomes: dict[str, Any] = json.loads(out_file.read_text())
        return outcomes


def cosines(got: Any, want: np.ndarray) -> np.ndarray:
    vectors = np.array(got, dtype=np.float64)
    assert vectors.shape == want.shape, f"shape {vectors.shape}, native {want.shape}"
    return np.sum(vectors * want, axis=1) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(want, axis=1))


def check(outcome: dict[str, Any], expected: Native) -> None:
    """The call's answer equals the native one: vectors at cosine >= 0.999 each, the same rerank order."""
    assert "error" not in outcome, f"{outcome['error']} (at {outcome.get('at')})"
    if "query" in outcome:
        assert cosines([outcome["query"]], expected.query).min() >= 0.999, cosines([outcome["query"]], expected.query)
    if "documents" in outcome:
        found = cosines(outcome["documents"], expected.documents)
        assert found.min() >= 0.999, f"cosine to native per document: {np.round(found, 4).tolist()}"
    if "ranking" in outcome:
        order = [index for index, _ in outcome["ranking"]]
        assert order == expected.order, f"order {order}, native {expected.order}"
        scores = [score for _, score in outcome["ranking"]]
        assert scores == sorted(scores, reverse=True), scores
    if "scores" in outcome:
        np.testing.assert_allclose(outcome["scores"], expected.similarity, atol=1e-3)
    assert outcome.keys() & {"query", "documents", "ranking", "scores"}, outcome
