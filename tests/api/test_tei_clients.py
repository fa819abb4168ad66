"""TEI clients against a real server on 127.0.0.1: huggingface_hub's InferenceClient and TEI's curl requests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub import constants as hf_constants

from tests.live_server import live_server

pytestmark = pytest.mark.slow

TEXTS = ["What is Deep Learning?", "Deep Learning is not..."]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with live_server() as url:
        yield url


def test_inference_client_feature_extraction(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # HF_HUB_OFFLINE (set for the whole suite) makes huggingface_hub refuse even 127.0.0.1; lift it for
    # this client only. A URL model with the hf-inference provider never contacts the Hub.
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    client = InferenceClient(model=f"{base}/embed", provider="hf-inference", timeout=60)
    vectors = client.feature_extraction(TEXTS[0], normalize=True, truncate=True, truncation_direction="right")
    native = httpx.post(f"{base}/embed", json={"texts": TEXTS[:1]}).json()["vectors"]
    assert vectors.shape == (1, 384)
    np.testing.assert_array_equal(vectors, np.array(native, dtype=np.float32))
    query = client.feature_extraction(TEXTS[0], prompt_name="query")
    assert query.shape == (1, 384)


def test_tei_curl_requests(base: str) -> None:
    # The requests from TEI's README, unchanged.
    embed = httpx.post(f"{base}/embed", json={"inputs": "What is Deep Learning?"})
    assert embed.status_code == 200 and len(embed.json()) == 1 and len(embed.json()[0]) == 384
    rerank = httpx.post(
        f"{base}/rerank",
        json={"query": "What is Deep Learning?", "texts": ["Deep Learning is not...", "Deep learning is..."]},
    )
    assert rerank.status_code == 200
    assert sorted(r["index"] for r in rerank.json()) == [0, 1] and all(0 <= r["score"] <= 1 for r in rerank.json())
    assert "x-compute-tokens" in rerank.headers
    info = httpx.get(f"{base}/info").json()
    assert info["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"
    tokens = httpx.post(f"{base}/tokenize", json={"inputs": "test"}).json()
    assert [t["text"] for t in tokens[0]] == ["[CLS]", "test", "[SEP]"]
    bad = httpx.post(f"{base}/embed", json={"inputs": "x" * 10, "truncate": False, "dimensions": 0})
    assert bad.status_code == 422 and bad.json()["error_type"] == "Validation"
