"""huggingface_hub's InferenceClient on the server's root URL, as TEI's own docs configure it (hf_hub venv)."""

from __future__ import annotations

from typing import Any

from huggingface_hub import InferenceClient
from protocol import plain, run


def client(case: dict[str, Any]) -> InferenceClient:
    return InferenceClient(model=case["base"], token=case["key"], timeout=60)


CALLS = {
    "InferenceClient(model=URL): feature_extraction": lambda c: {
        "documents": plain(client(c).feature_extraction(c["documents"]))
    },
    "InferenceClient(model=URL): sentence_similarity": lambda c: {
        "scores": plain(client(c).sentence_similarity(c["query"], other_sentences=c["documents"]))
    },
}

if __name__ == "__main__":
    run(CALLS)
