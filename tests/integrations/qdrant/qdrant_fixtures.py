"""Build the fixture documents (one of each supported type, plus broken ones) and a hand-written PDF."""

from __future__ import annotations

import json
from pathlib import Path

GARDENING_MD = """---
title: Vegetable garden notes
---
# Vegetable garden

Notes from three summers of growing vegetables on a small balcony.

## Tomatoes

Water tomato plants deeply twice a week rather than a little every day; shallow watering
keeps the roots near the surface. Mulch the pots so the soil stays moist in July heat.

### Pruning

Pinch off the side shoots that grow between the main stem and the leaves. This keeps
the plant focused on fruit.

## Basil

Basil hates cold nights. Keep it indoors until night temperatures stay above twelve degrees.
"""

ASTRONOMY_TXT = """Backyard astronomy

Jupiter is the easiest planet to find with small binoculars: its four large moons line up
beside it like tiny stars. Saturn's rings show in any telescope magnifying more than
thirty times.

Let a telescope cool outside for half an hour before observing so the image stops shimmering.
"""

RECIPES_HTML = """<!doctype html>
<html><head><title>Bread baking</title>
<style>body { color: SECRETSTYLETOKEN; }</style>
<script>var tracker = "SECRETSCRIPTTOKEN";</script></head>
<body>
<nav>Home | Recipes</nav>
<h1>Sourdough bread</h1>
<p>A sourdough starter is flour and water fermented by wild yeast. Feed the starter
every day with equal weights of flour and water until it doubles within six hours.</p>
<h2>Baking</h2>
<p>Bake the loaf in a preheated cast iron pot at 250 degrees for twenty minutes with the
lid on, then twenty more minutes with the lid off for a dark crust.</p>
<script>console.log("SECRETSCRIPTTOKEN")</script>
</body></html>
"""

MANUAL_PAGES = [
    "Bicycle maintenance manual. Chain care: clean the chain with a rag and degreaser, "
    "then apply one drop of chain lubricant to each roller and wipe off the excess oil.",
    "Tyre pressure: road bike tyres need six to eight bar, mountain bike tyres about two bar. "
    "Check the pressure with a gauge every week because tubes slowly lose air.",
]

FAQ_RECORDS = [
    {"id": 1, "text": "To renew a passport, fill in the renewal form, attach two recent photos and "
     "send your old passport with the application.", "topic": "travel"},
    {"id": 2, "text": "Cats need fresh water every day and a litter box cleaned daily.", "topic": "pets"},
    {"id": 3, "body": "This record has no text field and must be ignored."},
]  # fmt: skip


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(path: Path, pages: list[str], title: str = "Fixture PDF") -> None:
    """Write a small but valid PDF (Helvetica text, one string per page, correct xref) by hand."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    info_id = font_id + 1
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for pid, text in zip(page_ids, pages, strict=True):
        words = text.split()
        lines = [" ".join(words[i : i + 10]) for i in range(0, len(words), 10)]
        ops = " T* ".join(f"({_pdf_escape(line)}) Tj" for line in lines)
        stream = f"BT /F1 11 Tf 14 TL 72 720 Td {ops} ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {pid + 1} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects.append(f"<< /Title ({_pdf_escape(title)}) >>".encode())
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, info_id)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(bytes(out))


def build_docs(root: Path) -> Path:
    """A notes folder with one file of each type, a nested folder, and two unreadable files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "gardening.md").write_text(GARDENING_MD)
    (root / "astronomy.txt").write_text(ASTRONOMY_TXT)
    (root / "recipes.html").write_text(RECIPES_HTML)
    (root / "sub").mkdir(exist_ok=True)
    make_pdf(root / "sub" / "manual.pdf", MANUAL_PAGES, title="Bicycle manual")
    (root / "faq.jsonl").write_text("\n".join(json.dumps(r) for r in FAQ_RECORDS) + "\n{not json\n")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    (root / "latin1.txt").write_bytes("caf\xe9 cr\xe8me br\xfbl\xe9e".encode("latin-1"))
    (root / "ignored.bin").write_bytes(b"\x00\x01")  # unsupported types in folders are not walked
    (root / ".hidden.md").write_text("# hidden\n\nnever ingested")
    return root
