"""EngineBridge: direct on the engine's loop, relayed from other loops and threads, refused when unsafe."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from fastapi import FastAPI

from service.engine import EmbedResult, Engine
from service.errors import NotReady
from ui.bridge import EngineBridge


async def embed_one(engine: Engine) -> EmbedResult:
    # The batcher's futures belong to the loop that runs this coroutine: it must be the engine's.
    return await engine.embed(["bridged"])


async def test_calls_from_another_loop_hop_onto_the_engine_loop(minilm: Any) -> None:
    bridge: EngineBridge = minilm.app.state.console.bridge
    assert bridge.loop is asyncio.get_running_loop()
    here = await bridge.call(embed_one)
    relayed = bridge.relayed_calls
    found: list[EmbedResult] = []
    # A second thread with its own loop: awaiting the batcher there would hang or fail without the hop.
    thread = threading.Thread(target=lambda: found.append(asyncio.run(bridge.call(embed_one))))
    thread.start()
    while thread.is_alive():
        await asyncio.sleep(0.01)  # keep this loop (the engine's) free to serve the relayed call
    assert bridge.relayed_calls == relayed + 1
    assert found and found[0].vectors.tolist() == here.vectors.tolist()


async def test_call_blocking_serves_worker_threads_and_refuses_the_loop_thread(minilm: Any) -> None:
    bridge: EngineBridge = minilm.app.state.console.bridge
    result = await asyncio.to_thread(bridge.call_blocking, embed_one)
    assert result.vectors.shape == (1, 384)
    with pytest.raises(RuntimeError, match="deadlock"):
        bridge.call_blocking(embed_one)


async def test_no_engine_means_not_ready() -> None:
    bridge = EngineBridge(FastAPI())
    with pytest.raises(NotReady, match="not ready"):
        await bridge.call(embed_one)
