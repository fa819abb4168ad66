"""Pure presentation helpers for the console: the cosine heatmap, latency lines and status tables."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.engine import Timings

# Past this many texts a heatmap stops being readable; the table still lists every text.
HEATMAP_MAX_TEXTS = 40
_EDGE = "border:1px solid #e5e7eb;"


def short(text: str, width: int = 48) -> str:
    """One line, at most `width` characters, for table cells and chart labels."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _cell_colour(value: float) -> tuple[str, str]:
    """Background and text colour: white at 0, deepening blue towards +1, red towards -1."""
    strength = min(1.0, abs(value))
    hue = 212 if value >= 0 else 4
    lightness = 97 - 52 * strength
    text = "#ffffff" if lightness < 62 else "#111827"
    return f"hsl({hue}, 78%, {lightness:.0f}%)", text


def heatmap_html(texts: Sequence[str], similarity: NDArray[np.float32]) -> str:
    """An HTML table coloured by cosine similarity (rows and columns are the texts, in order)."""
    n = len(texts)
    if n > HEATMAP_MAX_TEXTS:
        return f"<p>{n} texts: the heatmap shows at most {HEATMAP_MAX_TEXTS}; the table lists them all.</p>"
    head = "".join(
        f'<th title="{html.escape(t)}" style="{_EDGE}padding:4px 6px;font-weight:600">#{i + 1}</th>'
        for i, t in enumerate(texts)
    )
    rows = []
    for i, text in enumerate(texts):
        cells = []
        for j in range(n):
            value = float(similarity[i, j])
            background, colour = _cell_colour(value)
            shown = f"{value:.2f}".replace("-0.00", "0.00")
            cells.append(
                f'<td title="#{i + 1} vs #{j + 1}: {value:.4f}" style="background:{background};color:{colour};'
                f'text-align:center;padding:6px 8px;min-width:3.2em;border:1px solid #e5e7eb">{shown}</td>'
            )
        name = html.escape(short(text, 32))
        label = f'<th style="{_EDGE}text-align:left;padding:4px 8px;font-weight:500">#{i + 1} {name}</th>'
        rows.append(f"<tr>{label}{''.join(cells)}</tr>")
    return (
        '<div id="embed-heatmap-table" style="overflow-x:auto">'
        '<table style="border-collapse:collapse;font-size:0.9em">'
        f'<tr><th style="{_EDGE}text-align:left;padding:4px 8px">cosine similarity</th>{head}</tr>'
        f"{''.join(rows)}</table></div>"
    )


def latency_line(label: str, wall_s: float, timings: Timings, tokens: int) -> str:
    """`label: 12.3 ms (tokenize · queue · inference), N tokens` in Markdown."""
    parts = (
        f"tokenize {timings.tokenization * 1000:.1f} · queue {timings.queue * 1000:.1f} · "
        f"inference {timings.inference * 1000:.1f} ms"
    )
    cached = "" if timings.compute_tokens or not tokens else " · served from the cache"
    return f"**{label}**: {wall_s * 1000:.1f} ms ({parts}), {tokens} tokens{cached}"


def duration(seconds: float) -> str:
    """Uptime in the largest two units: `3d 4h`, `2h 5m`, `41s`."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def key_value_table(rows: Sequence[tuple[str, Any]]) -> str:
    """A two-column Markdown table."""
    lines = ["| | |", "| --- | --- |"]
    lines += [f"| {key} | {_md(value)} |" for key, value in rows]
    return "\n".join(lines)


def counters_table(counters: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per named counter group (e.g. each batcher), one column per counter."""
    if not counters:
        return ""
    columns: list[str] = []
    for values in counters.values():
        columns += [key for key in values if key not in columns]
    lines = ["| | " + " | ".join(c.replace("_", " ") for c in columns) + " |", "| --- " * (len(columns) + 1) + "|"]
    for name, values in counters.items():
        lines.append(f"| {name} | " + " | ".join(_md(values.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def _md(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:.4g}"
    return html.escape(str(value)).replace("|", "\\|")
