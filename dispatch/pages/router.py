"""Routes of the phone pages: the two pages, the officer's web app manifest, icons and
service worker, their static files, and Leaflet from the `django-js-lib-leaflet` wheel."""

from __future__ import annotations

import hashlib
import html
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import js_lib_leaflet
from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from dispatch.app_deps import CurrentViewer, ServicesDep
from dispatch.config import PagesSettings
from dispatch.core.messages import QUICK_REPLIES
from dispatch.maps.tiles import page_tiles
from dispatch.pages.icons import icon_png
from dispatch.storage.models import User
from schemas.common import Model, Role

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
ICON_SIZES = (192, 512)
NO_CACHE = {"Cache-Control": "no-cache"}


def leaflet_dir() -> Path:
    """The wheel's own folder of Leaflet files (leaflet.js, leaflet.css, images/)."""
    return Path(js_lib_leaflet.__file__).parent / "static" / "js_lib_leaflet"


class PageAccount(Model):
    """What the officer's page needs to know about her account (GET /api/pages/me)."""

    username: str
    role: Role
    crew_id: str | None
    has_pins: bool


@lru_cache(maxsize=4)
def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def render(name: str, title: str, config: dict[str, Any]) -> str:
    """The page with its title and its settings (JSON, safe inside a script element)."""
    payload = json.dumps(config).replace("<", "\\u003c")
    return _template(name).replace("{{TITLE}}", html.escape(title)).replace("{{CONFIG}}", payload)


def officer_config(p: PagesSettings) -> dict[str, Any]:
    return {
        "hold_to_alert_s": p.hold_to_alert_s,
        "hold_to_escalate_s": p.hold_to_escalate_s,
        "not_delivered_after_s": p.not_delivered_after_s,
        "no_crew_after_s": p.no_crew_after_s,
        "share_after_cancel_s": p.share_after_cancel_s,
        "text": {
            "ready": p.officer_ready_text,
            "urgent": p.officer_urgent_text,
            "sending": p.officer_sending_text,
            "received": p.officer_sent_text,
            "crew_assigned": p.officer_assigned_text,
            "crew_on_scene": p.officer_on_scene_text,
            "resolved": p.officer_resolved_text,
            "cancelled": p.officer_cancelled_text,
            "not_delivered": p.officer_not_delivered_text,
            "no_crew": p.officer_no_crew_text,
        },
    }


def shell_version(p: PagesSettings) -> str:
    """Changes whenever the officer's cached shell would: its files or its settings."""
    digest = hashlib.sha256(p.model_dump_json().encode())
    for path in sorted([*STATIC.iterdir(), *TEMPLATES.iterdir()]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def build_router(p: PagesSettings) -> APIRouter:
    router = APIRouter(tags=["pages"])
    worker = _template("officer-sw.js").replace("{{VERSION}}", shell_version(p))

    @router.get("/officer", response_class=HTMLResponse, include_in_schema=False)
    async def officer_page(s: ServicesDep) -> HTMLResponse:
        config = officer_config(p) | {"escort_presets_min": s.settings.welfare.escort_presets_min}
        config["signal_max_age_s"] = s.settings.incidents.signal_max_age_s  # her vibration codes
        body = render("officer.html", p.officer_app_name, config)
        return HTMLResponse(body, headers=NO_CACHE)

    @router.get("/crew", response_class=HTMLResponse, include_in_schema=False)
    async def crew_page(request: Request, s: ServicesDep) -> HTMLResponse:
        config = {
            "tile_url": p.tile_url,
            "tile_attribution": p.tile_attribution,
            "tiles": await page_tiles(request),  # the force's own tiles (dispatch/maps), or None
            # Incident messages and "crew needs help" (held like her alert button).
            "hold_to_help_s": p.hold_to_alert_s,
            "message_max_chars": s.settings.incidents.message_max_chars,
            "quick_replies": QUICK_REPLIES,
        }
        return HTMLResponse(render("crew.html", "Crew", config), headers=NO_CACHE)

    @router.get("/officer.webmanifest", include_in_schema=False)
    async def manifest() -> Response:
        body = {
            "name": p.officer_app_name,
            "short_name": p.officer_app_name,
            "start_url": "/officer",
            "scope": "/officer",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#263238",
            "theme_color": "#263238",
            "icons": [
                {"src": f"/pages/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
                for n in ICON_SIZES
            ],
        }
        return Response(json.dumps(body), media_type="application/manifest+json")

    @router.get("/pages/icon-{size}.png", include_in_schema=False)
    async def icon(size: int) -> Response:
        if size not in ICON_SIZES:
            raise HTTPException(status_code=404, detail="No icon of that size.")
        return Response(icon_png(size), media_type="image/png")

    @router.get("/officer-sw.js", include_in_schema=False)
    async def service_worker() -> Response:
        # Served from the root so that it may control /officer; never cached itself.
        return Response(worker, media_type="text/javascript", headers=NO_CACHE)

    @router.get("/api/pages/me", response_model=PageAccount)
    async def page_account(viewer: CurrentViewer, s: ServicesDep) -> PageAccount:
        """Who is signed in, and whether a cancel needs her PIN."""
        async with s.db.session() as session:
            user = await session.get(User, viewer.user_id)
        has_pins = user is not None and user.cancel_pin_hash is not None
        return PageAccount(
            username=viewer.username, role=viewer.role, crew_id=viewer.crew_id, has_pins=has_pins
        )

    return router


def install_pages(app: FastAPI, pages: PagesSettings) -> None:
    """Add the pages' routes and static files to the app."""
    app.include_router(build_router(pages))
    app.mount("/pages/static", StaticFiles(directory=STATIC), name="pages-static")
    app.mount("/static/leaflet", StaticFiles(directory=leaflet_dir()), name="leaflet")
