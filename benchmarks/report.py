"""Turn raw benchmark measurements into a summary (ratios, targets) and a printable table."""

from __future__ import annotations

from typing import Any

from benchmarks.baselines import Offline, median_ms
from benchmarks.load import LoadResult

TARGETS = {
    "concurrent_vs_spec": 3.0,  # embedrank / spec-like server, 32 single-text clients
    "concurrent_vs_offline": 0.8,  # embedrank / offline batch-32 encode
    "mixed_vs_fifo": 2.0,  # embedrank / FIFO batcher, mixed lengths
    "single_overhead_ms": 1.5,  # idle p50 minus in-process forward p50
    "passage_sgemm_efficiency": 0.7,  # model FLOP/s on ~220-token passages / sgemm FLOP/s
}


def _load_row(result: LoadResult) -> dict[str, Any]:
    return {
        "requests": result.requests,
        "texts_per_s": result.texts_per_s,
        "tokens_per_s": result.tokens_per_s,
        "p50_ms": result.percentile_ms(50),
        "p99_ms": result.percentile_ms(99),
        "seconds": result.seconds,
        "client_cpu_share": result.client_cpu_s / result.seconds if result.seconds else 0.0,
        "server_cpu_s": result.server_cpu_s,
        "texts_per_cpu_s": result.texts_per_cpu_s,
        "errors": result.errors,
    }


def _offline_row(before: Offline, after: Offline) -> dict[str, Any]:
    seconds = before.seconds + after.seconds
    return {
        "texts_per_s": (before.texts + after.texts) / seconds,
        "tokens_per_s": (before.tokens + after.tokens) / seconds,
        "texts_per_cpu_s": (before.texts + after.texts) / (before.cpu_s + after.cpu_s),
        "runs_texts_per_s": [before.texts_per_s, after.texts_per_s],
    }


def _throughput(raw: dict[str, Any]) -> dict[str, Any]:
    rows = {name: _load_row(value) for name, value in raw.items() if isinstance(value, LoadResult)}
    for key in ("offline", "offline_server_threads"):
        if f"{key}_before" in raw:
            rows[key] = _offline_row(raw[f"{key}_before"], raw[f"{key}_after"])
    return rows


def _ceiling(rows: dict[str, Any], field: str) -> float:
    """The offline ceiling: the faster of the offline runs (default threads, servers' threads)."""
    return max(float(row[field]) for name, row in rows.items() if name.startswith("offline"))


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {k: data[k] for k in ("machine", "mode", "mix", "sgemm_gflops", "flops") if k in data}
    ratios: dict[str, float] = {}
    if "single" in data:
        single = data["single"]
        forward = median_ms(single["forward_s"])
        rows = {name: {"p50_ms": median_ms(v), "p99_ms": _pct(v, 99)} for name, v in single["http_s"].items()}
        summary["single"] = {"forward_p50_ms": forward, "forward_p99_ms": _pct(single["forward_s"], 99), **rows}
        ratios["single_overhead_ms"] = rows["embedrank"]["p50_ms"] - forward
    if "concurrent" in data:
        rows = summary["concurrent"] = _throughput(data["concurrent"])
        ratios["concurrent_vs_spec"] = rows["embedrank"]["texts_per_s"] / rows["spec"]["texts_per_s"]
        ratios["concurrent_vs_offline"] = rows["embedrank"]["texts_per_s"] / _ceiling(rows, "texts_per_s")
        ratios["concurrent_vs_spec_per_cpu_s"] = rows["embedrank"]["texts_per_cpu_s"] / rows["spec"]["texts_per_cpu_s"]
        ratios["concurrent_vs_offline_per_cpu_s"] = rows["embedrank"]["texts_per_cpu_s"] / _ceiling(
            rows, "texts_per_cpu_s"
        )
    if "mixed" in data:
        rows = summary["mixed"] = _throughput(data["mixed"])
        ratios["mixed_vs_fifo"] = rows["embedrank"]["tokens_per_s"] / rows["fifo"]["tokens_per_s"]
        ratios["mixed_vs_fifo_per_cpu_s"] = rows["embedrank"]["texts_per_cpu_s"] / rows["fifo"]["texts_per_cpu_s"]
        ratios["mixed_vs_spec"] = rows["embedrank"]["tokens_per_s"] / rows["spec"]["tokens_per_s"]
        ratios["mixed_vs_offline"] = rows["embedrank"]["tokens_per_s"] / _ceiling(rows, "tokens_per_s")
    if "rerank" in data:
        rows = summary["rerank"] = _throughput(data["rerank"])
        sgemm = max(data["sgemm_gflops"]["best"], data.get("sgemm_gflops_after", {}).get("best", 0.0)) * 1e9
        flops = data["flops"]["flops_per_token"]
        sgemm_cpu = max(
            data["sgemm_gflops"]["best_per_cpu_s"], data.get("sgemm_gflops_after", {}).get("best_per_cpu_s", 0.0)
        )
        for name, row in rows.items():
            if name.endswith("cached"):  # cache hits skip the model: no FLOPs to count
                continue
            row["gflops"] = row["tokens_per_s"] * flops / 1e9
            row["sgemm_efficiency"] = row["gflops"] * 1e9 / sgemm
            tokens_per_cpu_s = row["texts_per_cpu_s"] * row["tokens_per_s"] / row["texts_per_s"]
            row["gflops_per_cpu_s"] = tokens_per_cpu_s * flops / 1e9
            row["sgemm_efficiency_per_cpu_s"] = row["gflops_per_cpu_s"] / sgemm_cpu
        summary["sgemm_ceiling_gflops"] = sgemm / 1e9
        summary["sgemm_ceiling_gflops_per_cpu_s"] = sgemm_cpu
        ratios["passage_sgemm_efficiency"] = rows["embedrank"]["sgemm_efficiency"]
        ratios["passage_offline_sgemm_efficiency"] = _ceiling(rows, "sgemm_efficiency")
        ratios["passage_sgemm_efficiency_per_cpu_s"] = rows["embedrank"]["sgemm_efficiency_per_cpu_s"]
        ratios["rerank_vs_spec"] = rows["embedrank"]["tokens_per_s"] / rows["spec"]["tokens_per_s"]
    summary["ratios"] = ratios
    summary["targets"] = {
        name: {"target": goal, "measured": ratios[name], "met": _met(name, ratios[name], goal)}
        for name, goal in TARGETS.items()
        if name in ratios
    }
    return summary


def _met(name: str, value: float, goal: float) -> bool:
    return value <= goal if name.endswith("_ms") else value >= goal


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1000 if ordered else float("nan")


def table(summary: dict[str, Any]) -> str:
    header = f"{'scenario':<22}{'system':<24}{'texts/s':>9}{'tokens/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'txt/cpu-s':>10}"
    lines = [header + "  note"]
    lines.append("-" * len(lines[0]))
    if "single" in summary:
        single = summary["single"]
        lines.append(
            _line("single query, idle", "in-process fwd", None, single["forward_p50_ms"], single["forward_p99_ms"])
        )
        for name in ("embedrank", "spec"):
            if name in single:
                lines.append(_line("", name, None, single[name]["p50_ms"], single[name]["p99_ms"]))
    for key, title in (
        ("concurrent", "32 clients x 1 short"),
        ("mixed", "8 clients x mixed"),
        ("rerank", "rerank 1x100 (220t)"),
    ):
        if key not in summary:
            continue
        for i, (name, row) in enumerate(summary[key].items()):
            note = ""
            if "client_cpu_share" in row:
                note = f"client cpu {row['client_cpu_share']:.0%}"
            if "sgemm_efficiency" in row:
                note += f"{', ' if note else ''}{row['gflops']:.1f} GFLOP/s = {row['sgemm_efficiency']:.0%} sgemm"
                note += f" ({row['sgemm_efficiency_per_cpu_s']:.0%} per cpu-s)"
            if row.get("errors"):
                note += f" errors {row['errors']}"
            lines.append(_line(title if i == 0 else "", name, row, row.get("p50_ms"), row.get("p99_ms"), note))
    lines.append("")
    if "sgemm_ceiling_gflops" in summary:
        flops = summary["flops"]
        lines.append(
            f"sgemm ceiling {summary['sgemm_ceiling_gflops']:.1f} GFLOP/s "
            f"({summary['sgemm_ceiling_gflops_per_cpu_s']:.1f} per cpu-s); model {flops['flops_per_token'] / 1e6:.1f} "
            f"MFLOP/token at 220 tokens (2 x {flops['matmul_params'] / 1e6:.1f}M matmul weights + attention; "
            f"the 2 x {flops['all_params'] / 1e6:.1f}M-params rule would say "
            f"{flops['rule_of_thumb_flops_per_token'] / 1e6:.1f})"
        )
    for name, target in summary["targets"].items():
        sign = "<=" if name.endswith("_ms") else ">="
        verdict = "MET" if target["met"] else "MISSED"
        lines.append(f"target {name:<26} {target['measured']:8.2f}  (want {sign} {target['target']})  {verdict}")
    for name, value in summary["ratios"].items():
        if name not in summary["targets"]:
            lines.append(f"ratio  {name:<26} {value:8.2f}")
    return "\n".join(lines)


def _line(
    scenario: str, system: str, row: dict[str, Any] | None, p50: float | None, p99: float | None, note: str = ""
) -> str:
    texts = f"{row['texts_per_s']:9.1f}" if row else f"{'':>9}"
    tokens = f"{row['tokens_per_s']:10.0f}" if row else f"{'':>10}"
    p50s = f"{p50:9.2f}" if p50 is not None else f"{'':>9}"
    p99s = f"{p99:9.2f}" if p99 is not None else f"{'':>9}"
    per_cpu = f"{row['texts_per_cpu_s']:10.1f}" if row and row.get("texts_per_cpu_s") else f"{'':>10}"
    return f"{scenario:<22}{system:<24}{texts}{tokens}{p50s}{p99s}{per_cpu}  {note}".rstrip()
