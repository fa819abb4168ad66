"""The Infinity / vLLM rerank body on POST /rerank: their response shape, plain-string documents, 422 lists."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import AppClient

DOCS = ["Munich is in Germany.", "The sky is blue.", "Munich is the capital of Bavaria."]


async def test_infinity_body_answers_infinitys_shape(app_client: AppClient, cross_encoder_path: Path) -> None:
    async with app_client(cross_encoder_model=str(cross_encoder_path), ui_enabled=False) as client:
        body = {"query": "Where is Munich?", "documents": DOCS, "return_documents": True, "model": "x"}
        r = await client.post("/rerank", json=body)
        assert r.status_code == 200 and r.headers["x-rerank-method"] == "cross-encoder", r.text
        out = r.json()
        assert out["object"] == "rerank" and set(out) == {"object", "results", "model", "usage", "id", "created"}
        assert all(item["document"] == DOCS[item["index"]] for item in out["results"])  # a plain string
        native = (await client.post("/rerank", json={"query": "Where is Munich?", "passages": DOCS})).json()
        assert [i["index"] for i in out["results"]] == [i["index"] for i in native["results"]]
        np.testing.assert_allclose(
            [i["relevance_score"] for i in out["results"]], [i["score"] for i in native["results"]]
        )
        top = (await client.post("/rerank", json={**body, "top_n": 2, "return_documents": False})).json()
        assert len(top["results"]) == 2 and top["results"][0]["document"] is None
        raw = (await client.post("/rerank", json={**body, "raw_scores": True})).json()["results"]
        for item, scored in zip(raw, out["results"], strict=True):
            assert 1 / (1 + np.exp(-item["relevance_score"])) == pytest.approx(scored["relevance_score"], abs=1e-6)
        # vLLM's body: the same, with fields Infinity does not know (ignored by both)
        vllm = await client.post(
            "/rerank", json={"model": "m", "query": "Where is Munich?", "documents": DOCS, "truncate_prompt_tokens": 8}
        )
        assert vllm.status_code == 200 and len(vllm.json()["results"]) == 3


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"query": "q", "documents": [1]}, ["body", "documents", 0]),
        ({"query": "q", "documents": ["a"], "top_n": 0}, ["body", "top_n"]),
        ({"documents": ["a"]}, ["body", "query"]),
        ({"query": "q", "documents": []}, ["body", "documents"]),
    ],
)
async def test_invalid_bodies_are_fastapi_shaped_422(
    minilm: httpx.AsyncClient, body: object, loc: list[object]
) -> None:
    r = await minilm.post("/rerank", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and {"loc", "msg", "type"} <= set(detail[0]), detail
    assert detail[0]["loc"] == loc, detail


async def test_limits_are_the_engines_in_infinitys_names(app_client: AppClient) -> None:
    async with app_client(max_passages_per_rerank=2, ui_enabled=False) as client:
        r = await client.post("/rerank", json={"query": "q", "documents": ["a", "b", "c"]})
        assert r.status_code == 413 and r.json()["error"]["message"].startswith("documents has 3 items"), r.text
        assert r.json()["error"]["param"] == "documents" and r.json()["error"]["code"] == 413
