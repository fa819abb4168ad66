"""Start-up calibration: time a model on the calibration texts, compare outputs, and judge a candidate runtime."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Encoder, Scorer
from service.backends.calibration_texts import PASSAGES, QUERIES
from service.tokens.padding import Batch, TokenIds, pad_batch

# A candidate must keep every calibration vector within this cosine of float32's (scores: this correlation)...
MIN_FIDELITY = 0.999
# ...and run at least this much faster: below it, the difference is within a shared machine's noise.
MIN_SPEEDUP = 1.05
ROUNDS = 2  # best of two timed rounds per variant, after one untimed: ~0.3 s for MiniLM on 2 idle cores
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class Measured:
    """A model's best time over the calibration batches, and what it computed (vectors or logits)."""

    seconds: float
    outputs: NDArray[np.float32]


@dataclass(frozen=True)
class Verdict:
    """Whether to take the candidate, and the sentence that says why (logged, and shown in /health)."""

    take: bool
    reason: str


def native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CPU flag that gives native bf16 dot products (AMX or AVX512-BF16), or None (Linux reads /proc/cpuinfo)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return next((flag for flag in _BF16_FLAGS if flag in flags), None)


def min_cosine(reference: NDArray[np.float32], candidate: NDArray[np.float32]) -> float:
    """The worst row cosine between two sets of vectors of the same texts."""
    a = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    b = candidate / np.linalg.norm(candidate, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


def score_agreement(reference: NDArray[np.float32], candidate: NDArray[np.float32]) -> float:
    """Correlation of two rerankers' logits over the same pairs (a cosine of the centred score vectors):
    1.0 when they differ by nothing but an offset, and the order they give is the same."""
    a, b = reference - reference.mean(), candidate - candidate.mean()
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norms) if norms > 0 else float(np.allclose(reference, candidate))


def judge(
    candidate: str,
    baseline: str,
    base: Measured,
    measured: Measured,
    fidelity: float,
    *,
    fidelity_name: str = "min cosine",
    min_fidelity: float | None = None,
    min_speedup: float | None = None,
) -> Verdict:
    """Take `candidate` only when it is faithful AND measurably faster than `baseline` (thresholds: the
    module's MIN_FIDELITY and MIN_SPEEDUP unless given)."""
    min_fidelity = MIN_FIDELITY if min_fidelity is None else min_fidelity
    min_speedup = MIN_SPEEDUP if min_speedup is None else min_speedup
    speedup = base.seconds / measured.seconds if measured.seconds > 0 else float("inf")
    facts = f"{candidate} ran {speedup:.2f}x {baseline}'s speed, {fidelity_name} {fidelity:.5f} to float32"
    if fidelity < min_fidelity:
        return Verdict(False, f"{facts}, below {min_fidelity}: {baseline}")
    if speedup < min_speedup:
        return Verdict(False, f"{facts}, not {min_speedup}x faster: {baseline}")
    return Verdict(True, f"{facts}: {candidate}")


def _timed(batches: Sequence[Batch], run: Callable[[Batch], NDArray[np.float32]], rounds: int) -> Measured:
    outputs = [run(batch) for batch in batches]  # the first run of a shape builds kernels: not timed
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        outputs = [run(batch) for batch in batches]
        best = min(best, time.perf_counter() - started)
    return Measured(best, np.concatenate(outputs).astype(np.float32))


def encoder_batches(encoder: Encoder) -> list[Batch]:
    """The calibration texts as the engine would batch them: queries together, passages together."""
    text = encoder.text
    return [pad_batch(text.truncated(texts), text.pad_id, text.padding_side) for texts in (QUERIES, PASSAGES)]


def scorer_batches(scorer: Scorer) -> list[Batch]:
    """Two queries, each against every calibration passage (a small rerank request each)."""
    pairs = scorer.pairs
    batches = []
    for query in QUERIES[:2]:
        rows: list[TokenIds] = pairs.tokenize(query, PASSAGES)
        batches.append(pad_batch(rows, pairs.pad_id, pairs.padding_side))
    return batches


def measure_encoder(encoder: Encoder, rounds: int = ROUNDS) -> Measured:
    return _timed(encoder_batches(encoder), encoder.encode, rounds)


def measure_scorer(scorer: Scorer, rounds: int = ROUNDS) -> Measured:
    return _timed(scorer_batches(scorer), lambda batch: scorer.score(batch).reshape(-1), rounds)
