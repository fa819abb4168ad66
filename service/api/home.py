"""GET /: a browser that opens the bare address is sent to the console (/ui/), or to /docs without it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse


def home_router(console_mounted: bool) -> APIRouter:
    router = APIRouter()
    target = "/ui/" if console_mounted else "/docs"

    @router.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(target, status_code=307)

    return router
