"""The console's page and its static files. The page itself holds nothing secret: every
piece of data comes from the API and the websocket, which are for supervisors only."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from dispatch.config import PagesSettings
from dispatch.maps.tiles import page_tiles

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
NO_CACHE = {"Cache-Control": "no-cache"}


def install_console(app: FastAPI, pages: PagesSettings) -> None:
    router = APIRouter(tags=["console"])
    settings = {"tile_url": pages.tile_url, "tile_attribution": pages.tile_attribution}
    page = (TEMPLATES / "console.html").read_text(encoding="utf-8")

    @router.get("/console", response_class=HTMLResponse, include_in_schema=False)
    async def console_page(request: Request) -> HTMLResponse:
        # The force's own tiles (dispatch/maps) are looked up at each load: a new archive
        # needs no restart.
        config = json.dumps({**settings, "tiles": await page_tiles(request)})
        body = page.replace("{{CONFIG}}", config.replace("<", "\\u003c"))
        return HTMLResponse(body, headers=NO_CACHE)

    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
