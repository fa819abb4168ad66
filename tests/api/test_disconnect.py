"""A client that hangs up while queued has its items dropped; the server keeps serving others."""

from __future__ import annotations

import asyncio

import httpx

from tests.live_server import live_server


async def test_disconnected_client_items_are_dropped() -> None:
    long_texts = [f"passage {i} " + "vector search " * 120 for i in range(96)]
    # Admission must not refuse the second request on a slow machine: this test is about dropping.
    with live_server({"EMBED_CACHE_MB": "0", "MAX_BATCH_ITEMS": "16", "MAX_QUEUE_WAIT_S": "600"}) as base:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            busy = asyncio.ensure_future(client.post("/embed", json={"texts": long_texts}))
            await asyncio.sleep(0.3)  # the worker is now busy with the first request
            impatient = asyncio.ensure_future(
                client.post("/embed", json={"texts": [f"dropped {i} " * 50 for i in range(64)]})
            )
            await asyncio.sleep(0.3)
            impatient.cancel()  # closes that connection: the client hung up
            first = await busy
            assert first.status_code == 200, first.text
            after = await client.post("/embed", json={"texts": ["still serving"]})
            assert after.status_code == 200
            stats = (await client.get("/health")).json()["stats"]["batchers"]["embed"]
            assert stats["dropped_items"] > 0
            assert stats["queued_tokens"] == 0
