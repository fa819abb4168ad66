"""In-process baselines: the offline encode ceiling, the bare forward time, sgemm GFLOP/s and model FLOPs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.tokens.padding import pad_batch


@dataclass
class Offline:
    texts: int
    tokens: int
    seconds: float
    cpu_s: float

    @property
    def texts_per_s(self) -> float:
        return self.texts / self.seconds

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


def offline_encode(model: Any, texts: list[str], tokens: int, batch_size: int = 32) -> Offline:
    """Baseline (b): `SentenceTransformer.encode` at batch 32 (it sorts by length itself), warm."""
    model.encode(texts[:batch_size], batch_size=batch_size)
    cpu, started = time.process_time(), time.perf_counter()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
    return Offline(len(texts), tokens, time.perf_counter() - started, time.process_time() - cpu)


def sgemm_gflops(seconds_per_shape: float = 0.4, repeats: int = 3) -> dict[str, float]:
    """Baseline (c): the best torch fp32 matmul rate over square and model-shaped products.

    `best` is per wall-clock second; `best_per_cpu_s` per second of this process's CPU, which a
    busy shared machine disturbs far less (compare it with the servers' per-CPU rates).
    """
    import torch

    shapes = {
        "1024x1024x1024": (1024, 1024, 1024),
        "2048x2048x2048": (2048, 2048, 2048),
        # the MiniLM feed-forward GEMM of a 32 x 220-token batch
        "7040x384x1536": (7040, 384, 1536),
    }
    rates: dict[str, float] = {}
    per_cpu: list[float] = []
    with torch.inference_mode():
        for name, (m, k, n) in shapes.items():
            a, b = torch.randn(m, k), torch.randn(k, n)
            torch.mm(a, b)
            best = 0.0
            for _ in range(repeats):
                count, cpu, started = 0, time.process_time(), time.perf_counter()
                while (elapsed := time.perf_counter() - started) < seconds_per_shape:
                    torch.mm(a, b)
                    count += 1
                best = max(best, 2 * m * k * n * count / elapsed / 1e9)
                per_cpu.append(2 * m * k * n * count / max(time.process_time() - cpu, 1e-9) / 1e9)
            rates[name] = best
    rates["best"] = max(rates.values())
    rates["best_per_cpu_s"] = max(per_cpu)
    return rates


def flops_per_token(model: Any, seq_len: float) -> dict[str, float]:
    """Forward FLOPs per token: 2 x the encoder's matmul weights, plus attention (QK^T and AV).

    Embedding tables are lookups, not matmuls, so they are left out; counting them (the
    "2 x 22M params" rule of thumb for MiniLM) would overstate the efficiency about 2x.
    """
    import torch

    transformer = model[0].auto_model
    config = transformer.config
    linear = sum(
        module.weight.numel()
        for name, module in transformer.named_modules()
        if isinstance(module, torch.nn.Linear) and "pooler" not in name
    )
    all_params = sum(p.numel() for p in transformer.parameters())
    attention = 4 * seq_len * config.hidden_size * config.num_hidden_layers
    return {
        "matmul_params": float(linear),
        "all_params": float(all_params),
        "flops_per_token": 2.0 * linear + attention,
        "rule_of_thumb_flops_per_token": 2.0 * all_params + attention,
    }


def forward_times(encoder: Any, text: str, runs: int) -> list[float]:
    """The service's own in-process path for one text: tokenise, then one forward pass."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        text_ids = encoder.text
        encoder.encode(pad_batch(text_ids.truncated([text]), text_ids.pad_id, text_ids.padding_side))
        times.append(time.perf_counter() - started)
    return times


def median_ms(values: list[float]) -> float:
    return float(np.median(values)) * 1000 if values else float("nan")
