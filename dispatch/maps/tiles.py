"""Raster map tiles of the force's area from one archive file, MBTiles (SQLite) or PMTiles.

`import_archive` checks a file and copies it into `maps.dir` (a temporary name, then an
atomic rename), so the server never reads a file that is still being written, nor one on
a stick that was pulled out. `TileStore` opens whichever archive is there now and notices a
newer one without a restart. Reading a tile blocks (SQLite, a mapped file): the router
runs it in a worker thread.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mmap
import os
import shutil
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from pmtiles.tile import (
    Compression,
    Entry,
    MagicNumberNotFound,
    SpecVersionUnsupported,
    TileType,
    deserialize_directory,
    deserialize_header,
    find_tile,
    zxy_to_tileid,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

MBTILES, PMTILES = "mbtiles", "pmtiles"
KINDS = (MBTILES, PMTILES)
SQLITE_MAGIC = b"SQLite format 3\x00"
PMTILES_MAGIC = b"PMTiles"
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
PMTILES_TYPES = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp"}
MAX_ZOOM = 24
TILE_SQL = "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?"


class TilesError(Exception):
    """A file that cannot be used as the maps' tiles: a stable code and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class TileInfo:
    """What the pages need to know of the archive: its image type, zooms and area."""

    kind: str
    image: str  # png, jpg or webp
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north
    version: str  # changes when the archive is replaced: part of the tiles' URL
    attribution: str = ""  # the archive's own (e.g. "© OpenStreetMap contributors")

    def page_config(self) -> dict[str, object]:
        return {
            "url": f"/tiles/{{z}}/{{x}}/{{y}}?v={self.version}",
            "min_zoom": self.min_zoom,
            "max_zoom": self.max_zoom,
            "bounds": list(self.bounds) if self.bounds else None,
            "attribution": self.attribution,
        }


def sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def tile_in_range(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


class Archive(Protocol):
    info: TileInfo

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's image (XYZ numbering, y down from the north), None where there is none."""
        ...


def _version(path: Path) -> str:
    st = path.stat()
    key = f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}".encode()
    return hashlib.sha256(key).hexdigest()[:12]


def _bounds(values: list[float]) -> tuple[float, float, float, float] | None:
    if len(values) != 4:
        return None
    west, south, east, north = values
    ok = -180 <= west < east <= 180 and -90 <= south < north <= 90
    return (west, south, east, north) if ok else None


class MBTiles:
    """An MBTiles file: a `tiles` table (or view) numbered TMS-style, y up from the south."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            self.info = self._read_info()
        except sqlite3.Error as exc:
            raise TilesError("not_tiles", f"{path.name} is not an MBTiles file ({exc}).") from None

    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:  # one read-only connection per worker thread
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            self._local.conn = conn
        return conn

    def _read_info(self) -> TileInfo:
        db = self._db()
        meta: dict[str, str] = {}
        try:
            meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
        except sqlite3.OperationalError:
            pass  # optional: the tiles say what they are
        low, high = db.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
        if low is None:
            raise TilesError("no_tiles", f"{self.path.name} holds no tiles.")
        first = db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()[0]
        image = sniff_image(bytes(first or b""))
        if image is None:
            fmt = meta.get("format", "unknown")
            raise TilesError(
                "not_raster",
                f"{self.path.name} holds {fmt} tiles, not images: the maps need raster tiles "
                "(PNG, JPEG or WebP). See docs/maps.md.",
            )
        bounds = None
        if "bounds" in meta:
            try:
                bounds = _bounds([float(v) for v in meta["bounds"].split(",")])
            except ValueError:
                bounds = None
        version = _version(self.path)
        credit = str(meta.get("attribution") or "")[:300]
        return TileInfo(MBTILES, image, int(low), int(high), bounds, version, credit)

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        row = self._db().execute(TILE_SQL, (z, x, (1 << z) - 1 - y)).fetchone()
        return bytes(row[0]) if row and row[0] else None


class PMTiles:
    """A PMTiles (version 3) file, read through a memory map: its root directory is read
    once, leaf directories are kept as they are used."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as f:
            try:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:
                raise TilesError("not_tiles", f"{path.name} is empty.") from None
        try:
            self.header = deserialize_header(self._map[0:127])
            self._root = self._directory(self.header["root_offset"], self.header["root_length"])
        except (
            MagicNumberNotFound,
            SpecVersionUnsupported,
            ValueError,
            IndexError,
            OSError,
            EOFError,
        ):
            raise TilesError(
                "not_tiles", f"{path.name} is not a PMTiles file of version 3."
            ) from None
        self._leaf = lru_cache(maxsize=256)(self._directory)
        self.info = self._read_info()

    def _directory(self, offset: int, length: int) -> list[Entry]:
        return deserialize_directory(self._map[offset : offset + length])

    def _read_info(self) -> TileInfo:
        h = self.header
        image = PMTILES_TYPES.get(h["tile_type"])
        if image is None:
            raise TilesError(
                "not_raster",
                f"{self.path.name} holds {h['tile_type'].name} tiles, not images: the maps "
                "need raster tiles (PNG, JPEG or WebP). See docs/maps.md.",
            )
        if h["tile_compression"] not in (Compression.NONE, Compression.GZIP, Compression.UNKNOWN):
            raise TilesError(
                "not_supported",
                f"{self.path.name} compresses its tiles with {h['tile_compression'].name}; "
                "use none or gzip.",
            )
        if not self._root or h["addressed_tiles_count"] == 0:
            raise TilesError("no_tiles", f"{self.path.name} holds no tiles.")
        e7 = [h["min_lon_e7"], h["min_lat_e7"], h["max_lon_e7"], h["max_lat_e7"]]
        bounds = _bounds([v / 1e7 for v in e7])
        version = _version(self.path)
        return TileInfo(
            PMTILES, image, h["min_zoom"], h["max_zoom"], bounds, version, self._credit()
        )

    def _credit(self) -> str:
        """The attribution in the archive's JSON metadata, if it has one."""
        h = self.header
        raw = self._map[h["metadata_offset"] : h["metadata_offset"] + h["metadata_length"]]
        try:
            if h["internal_compression"] == Compression.GZIP:
                raw = gzip.decompress(raw)
            meta = json.loads(raw or b"{}")
        except (OSError, EOFError, ValueError):
            return ""
        credit = meta.get("attribution", "") if isinstance(meta, dict) else ""
        return credit[:300] if isinstance(credit, str) else ""

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        h = self.header
        tile_id = zxy_to_tileid(z, x, y)
        entries = self._root
        for _ in range(4):  # the format's deepest directory
            entry = find_tile(entries, tile_id)
            if entry is None:
                return None
            if entry.run_length > 0:
                start = h["tile_data_offset"] + entry.offset
                data = self._map[start : start + entry.length]
                if h["tile_compression"] != Compression.GZIP:
                    return data
                try:
                    return gzip.decompress(data)
                except (OSError, EOFError):
                    return None  # a damaged tile: none, as if missing
            entries = self._leaf(h["leaf_directory_offset"] + entry.offset, entry.length)
        return None


def kind_of(path: Path) -> str:
    """Which archive a file is, by its first bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        raise TilesError("not_found", f"There is no file {path}.") from None
    except OSError as exc:
        raise TilesError("unreadable", f"{path} cannot be read ({exc.strerror}).") from None
    if head.startswith(SQLITE_MAGIC):
        return MBTILES
    if head.startswith(PMTILES_MAGIC):
        return PMTILES
    raise TilesError(
        "not_tiles", f"{path.name} is neither an MBTiles nor a PMTiles file (see docs/maps.md)."
    )


def open_archive(path: Path) -> Archive:
    kind = kind_of(path)
    archive: Archive = MBTiles(path) if kind == MBTILES else PMTiles(path)
    return archive


def installed_path(directory: Path) -> Path | None:
    """The archive in `directory` (tiles.mbtiles or tiles.pmtiles), if any."""
    found = [p for p in (directory / f"tiles.{k}" for k in KINDS) if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None


def import_archive(source: Path, directory: Path) -> TileInfo:
    """Check `source` and make it the maps' tiles: copied into `directory` under a temporary
    name, checked again there, then renamed over the previous archive. A bad file changes
    nothing."""
    probe = open_archive(source)  # raises TilesError with the reason
    directory.mkdir(parents=True, exist_ok=True)
    kind = probe.info.kind
    fd, temporary = tempfile.mkstemp(prefix=".import-", suffix=f".{kind}", dir=directory)
    os.close(fd)
    try:
        shutil.copyfile(source, temporary)
        info = open_archive(Path(temporary)).info
        final = directory / f"tiles.{kind}"
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for other in KINDS:
        if other != kind:
            (directory / f"tiles.{other}").unlink(missing_ok=True)
    return replace(info, version=_version(final))


def remove_archive(directory: Path) -> bool:
    """Back to the drawn grid. True if there was an archive."""
    removed = False
    for kind in KINDS:
        path = directory / f"tiles.{kind}"
        if path.is_file():
            path.unlink()
            removed = True
    return removed


class TileStore:
    """The archive now in `maps.dir`, reopened when a newer one replaces it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._key: tuple[str, int, int] | None = None
        self._archive: Archive | None = None

    def current(self) -> Archive | None:
        path = installed_path(self.directory)
        if path is None:
            return None
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        key = (str(path), st.st_ino, st.st_mtime_ns)
        with self._lock:
            if key != self._key:
                try:
                    self._archive = open_archive(path)
                except (TilesError, OSError):
                    self._archive = None  # damaged or gone: the drawn grid
                self._key = key
            return self._archive

    def page_config(self) -> dict[str, object] | None:
        archive = self.current()
        return archive.info.page_config() if archive else None


def describe(info: TileInfo) -> str:
    where = ""
    if info.bounds:
        west, south, east, north = info.bounds
        where = f", area {south:.4f},{west:.4f} to {north:.4f},{east:.4f}"
    return (
        f"{info.image.upper()} tiles ({info.kind}), zoom {info.min_zoom} to {info.max_zoom}{where}"
    )


async def page_tiles(request: Request) -> dict[str, object] | None:
    """The tiles' part of a page's settings (URL, zooms, area), or None: the drawn grid.
    In a worker thread: a new archive is opened (and read) on the first page after it."""
    store: TileStore | None = getattr(request.app.state, "tiles", None)
    return await run_in_threadpool(store.page_config) if store else None
