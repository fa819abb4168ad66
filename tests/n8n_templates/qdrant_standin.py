"""A minimal in-memory Qdrant REST server: the calls n8n's Qdrant node makes (exact cosine search)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.live_server import in_thread


def ok(result: Any) -> dict[str, Any]:
    return {"result": result, "status": "ok", "time": 0.0}


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


@dataclass
class QdrantStandIn:
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    url: str = ""

    def search(self, name: str, vector: list[float], limit: int) -> list[dict[str, Any]]:
        points = self.collections[name]["points"].values()
        scored = sorted(((cosine(vector, p["vector"]), p) for p in points), key=lambda sp: -sp[0])
        return [{"id": p["id"], "version": 0, "score": s, "payload": p["payload"]} for s, p in scored[:limit]]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Any:
            self.calls.append(f"{request.method} {request.url.path}")
            return await call_next(request)

        @app.get("/")
        async def root() -> dict[str, str]:
            return {"title": "qdrant - vector search engine", "version": "1.15.0"}

        @app.get("/collections")
        async def list_collections() -> dict[str, Any]:
            return ok({"collections": [{"name": n} for n in self.collections]})

        @app.get("/collections/{name}/exists")
        async def exists(name: str) -> dict[str, Any]:
            return ok({"exists": name in self.collections})

        @app.get("/collections/{name}")
        async def info(name: str) -> Any:
            if name not in self.collections:
                return JSONResponse({"status": {"error": f"Collection `{name}` doesn't exist!"}}, 404)
            config = self.collections[name]["config"]
            count = len(self.collections[name]["points"])
            return ok({"status": "green", "points_count": count, "config": {"params": config}})

        @app.put("/collections/{name}")
        async def create(name: str, request: Request) -> dict[str, Any]:
            self.collections.setdefault(name, {"config": await request.json(), "points": {}})
            return ok(True)

        @app.put("/collections/{name}/points")
        async def upsert(name: str, request: Request) -> dict[str, Any]:
            for point in (await request.json())["points"]:
                self.collections[name]["points"][str(point["id"])] = point
            return ok({"operation_id": 0, "status": "completed"})

        @app.post("/collections/{name}/points/search")
        async def search(name: str, request: Request) -> dict[str, Any]:
            body = await request.json()
            return ok(self.search(name, body["vector"], body.get("limit", 10)))

        @app.post("/collections/{name}/points/query")
        async def query(name: str, request: Request) -> dict[str, Any]:
            body = await request.json()
            return ok({"points": self.search(name, body["query"], body.get("limit", 10))})

        return app


@contextmanager
def serve_qdrant(port: int) -> Iterator[QdrantStandIn]:
    stand_in = QdrantStandIn(url=f"http://127.0.0.1:{port}")
    with in_thread(stand_in.app(), port, what="Qdrant stand-in"):
        yield stand_in
