"""The maps' routes: tiles for every signed-in user (GET /tiles/{z}/{x}/{y}), and for the
console's supervisors the name of the place nearest a position and places found by name.

`install_maps` is called by the app factory; it keeps the TileStore in app.state, where
the pages' `tiles.page_tiles(request)` finds it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Response
from starlette.concurrency import run_in_threadpool

from dispatch.app_deps import CurrentViewer, ServicesDep
from dispatch.config import Settings
from dispatch.maps import gazetteer, naming
from dispatch.maps.tiles import MEDIA_TYPES, TileStore, sniff_image, tile_in_range
from ops_console.deps import Supervisor
from schemas.common import Model
from schemas.errors import ErrorCode


class PlaceHit(Model):
    name: str
    lat: float
    lon: float
    source: str  # "operation" or "gazetteer"


class NearPlace(PlaceHit):
    distance_m: float
    direction: str  # from the place to the position, 8 points: N, NE, ... NW
    text: str  # "near Castle Green, 120 m N"


class NearAnswer(Model):
    near: NearPlace | None


class PlaceSearch(Model):
    places: list[PlaceHit]


def _hit(p: naming.NamedPoint) -> PlaceHit:
    return PlaceHit(name=p.name, lat=p.lat, lon=p.lon, source=p.source)


def build_router(store: TileStore, cache_s: int) -> APIRouter:
    router = APIRouter(tags=["maps"])
    cache = f"private, max-age={cache_s}, immutable" if cache_s else "no-cache"

    def read(z: int, x: int, y: int) -> bytes | None:
        archive = store.current()
        return archive.tile(z, x, y) if archive and tile_in_range(z, x, y) else None

    @router.get("/tiles/{z}/{x}/{y}", include_in_schema=False)
    async def tile(z: int, x: int, y: int, viewer: CurrentViewer) -> Response:
        """A tile of the force's archive: for signed-in users only (cookie or bearer)."""
        data = await run_in_threadpool(read, z, x, y)  # SQLite or a mapped file: blocks
        kind = sniff_image(data) if data else None
        if data is None or kind is None:
            raise HTTPException(
                404, detail={"code": ErrorCode.NOT_FOUND, "message": "No tile here."}
            )
        headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
        return Response(data, media_type=MEDIA_TYPES[kind], headers=headers)

    @router.get("/api/console/places/near", response_model=NearAnswer)
    async def near(
        viewer: Supervisor,
        s: ServicesDep,
        lat: Annotated[float, Query(ge=-90, le=90)],
        lon: Annotated[float, Query(ge=-180, le=180)],
    ) -> NearAnswer:
        """The known place nearest a position (operations' places and the gazetteer),
        within maps.near_radius_m; none beyond."""
        radius = s.settings.maps.near_radius_m
        found = naming.nearest(lat, lon, await gazetteer.near(s.db, lat, lon, radius), radius)
        if found is None:
            return NearAnswer(near=None)
        place = found.place
        return NearAnswer(
            near=NearPlace(
                name=place.name,
                lat=place.lat,
                lon=place.lon,
                source=place.source,
                distance_m=round(found.distance_m, 1),
                direction=found.direction,
                text=found.text,
            )
        )

    @router.get("/api/console/places/search", response_model=PlaceSearch)
    async def search(
        viewer: Supervisor,
        s: ServicesDep,
        q: Annotated[str, Query(min_length=1, max_length=100)],
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> PlaceSearch:
        """Places whose name holds `q` (any case): exact names, then names starting with it."""
        candidates = await gazetteer.search(s.db, q, limit)
        return PlaceSearch(places=[_hit(p) for p in naming.matches(q, candidates, limit)])

    return router


def install_maps(app: FastAPI, settings: Settings) -> None:
    store = TileStore(Path(settings.maps.dir))
    app.state.tiles = store
    app.include_router(build_router(store, settings.maps.tile_cache_s))
