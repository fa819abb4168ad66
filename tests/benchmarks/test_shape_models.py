"""Shape-true Qwen3 benchmark models: published sizes, the offline tokenizer, and a folder the service serves."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import numpy as np
import pytest

from benchmarks import shape_models
from benchmarks.shape_models import QUERY_PROMPT, SHAPES, param_count
from benchmarks.workload import Workload, check_lengths
from tests.live_server import live_server


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_formula_matches_the_published_parameter_count(name: str) -> None:
    assert param_count(SHAPES[name]) == SHAPES[name].published_params


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_transformers_builds_exactly_the_published_size(name: str) -> None:
    """The full shape, every layer, on the meta device (no memory): transformers agrees with the formula."""
    import torch

    shape = SHAPES[name]
    config = shape_models.qwen3_config(shape, None, eos_id=0)
    with torch.device("meta"):
        model = shape_models.model_class(shape)(config)
    assert sum(p.numel() for p in model.parameters()) == shape.published_params
    assert model.config.num_hidden_layers == shape.num_hidden_layers


def test_fewer_layers_cost_one_layer_each() -> None:
    shape = SHAPES["qwen3-embedding-4b"]
    per_layer = param_count(shape, 2) - param_count(shape, 1)
    assert per_layer == 100_930_816  # 4 projections + MLP + 2 norms + q/k norms at hidden 2560
    assert param_count(shape) == param_count(shape, 0) + 36 * per_layer


def test_tokenizer_has_qwen_specials_eos_and_exact_token_words() -> None:
    tokenizer = shape_models.build_tokenizer(append_eos=True)
    assert tokenizer("a database")["input_ids"][-1] == tokenizer.eos_token_id
    assert tokenizer.pad_token == tokenizer.eos_token == "<|endoftext|>"
    assert tokenizer.padding_side == "left"
    for special in ("<|im_start|>", "<|im_end|>"):
        assert tokenizer.convert_tokens_to_ids(special) != tokenizer.unk_token_id
    # the query instruction costs about what Qwen's own tokenizer makes of it (~20 tokens)
    assert 12 <= len(tokenizer(QUERY_PROMPT, add_special_tokens=False)["input_ids"]) <= 30
    workload = Workload.from_tokenizer(tokenizer)
    assert workload.specials == 1 and len(workload.words) > 1000
    lengths = workload.short_lengths(50) + [220] * 5
    check_lengths(tokenizer, workload.texts(lengths), lengths, workload.specials)


def test_reranker_tokenizer_has_yes_and_no_as_single_tokens() -> None:
    tokenizer = shape_models.build_tokenizer(append_eos=False)
    for word in ("yes", "no"):
        assert len(tokenizer(word, add_special_tokens=False)["input_ids"]) == 1
    assert tokenizer("yes")["input_ids"][-1] != tokenizer.eos_token_id


def test_refuses_a_build_that_does_not_fit_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = {"SC_AVPHYS_PAGES": (20 << 30) // 4096, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    with pytest.raises(SystemExit, match="GiB"):
        shape_models.build("qwen3-embedding-4b", Path("/nonexistent/never-written"))  # 16 GB of fp32 weights


@pytest.fixture(scope="module")
def one_layer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 0.6B embedder and reranker shapes with 1 of 28 layers (real widths and vocabulary: ~0.7 GB each)."""
    root = tmp_path_factory.mktemp("shapes")
    return {
        name: shape_models.build(name, root / name, layers=1)
        for name in ("qwen3-embedding-0.6b", "qwen3-reranker-0.6b")
    }


@pytest.mark.slow
def test_the_service_serves_the_shapes(one_layer: dict[str, Path]) -> None:
    """MODEL_NAME / CROSS_ENCODER_MODEL = the folders: last-token pooling, the query prompt, a working reranker."""
    from sentence_transformers import SentenceTransformer

    embedder, reranker = one_layer["qwen3-embedding-0.6b"], one_layer["qwen3-reranker-0.6b"]
    env = {"MODEL_NAME": str(embedder), "CROSS_ENCODER_MODEL": str(reranker), "UI_ENABLED": "false"}
    with live_server(env=env, timeout_s=300) as base:
        health = httpx.get(f"{base}/health", timeout=30).json()
        assert (health["family"], health["dim"], health["cross_encoder"]) == ("qwen3-embedding", 1024, str(reranker))
        texts = ["vector database search", "local server"]
        body = {"texts": texts, "input_type": "query"}
        served = np.array(httpx.post(f"{base}/embed", json=body, timeout=60).json()["vectors"])
        passages = ["a local vector database", "weather in the garden", "python and rust"]
        rerank = {"query": "vector search", "passages": passages, "top_k": 3, "use_cross_encoder": True}
        ranked = httpx.post(f"{base}/rerank", json=rerank, timeout=60).json()
    assert ranked["method"] == "cross-encoder"
    assert sorted(r["index"] for r in ranked["results"]) == [0, 1, 2]
    assert all(np.isfinite(r["score"]) for r in ranked["results"])
    # the folder is a sentence-transformers model whose own pooling and query prompt match the server's
    offline = SentenceTransformer(str(embedder), device="cpu").encode(texts, prompt_name="query")
    cosines = np.sum(served * offline, axis=1)
    assert cosines.min() > 0.999, cosines
    assert float(served[0] @ served[1]) < 0.9999  # different texts, different vectors
