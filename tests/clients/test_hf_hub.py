"""huggingface_hub's InferenceClient with the server's root URL as the model (TEI's POST / and similarity)."""

from __future__ import annotations

import pytest

from tests.clients.conftest import outcomes
from tests.clients.harness import Native, Server, check

pytestmark = pytest.mark.slow

CALLS = ["InferenceClient(model=URL): feature_extraction", "InferenceClient(model=URL): sentence_similarity"]


def test_every_call_is_checked(server: Server) -> None:
    assert sorted(outcomes("hf_hub", server)) == sorted(CALLS)


@pytest.mark.parametrize("call", CALLS)
def test_call_equals_native(call: str, server: Server, expected: Native) -> None:
    check(outcomes("hf_hub", server)[call], expected)
