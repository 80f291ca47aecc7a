"""Builders for map tests: small PNG tiles (the standard library's zlib), and MBTiles and
PMTiles archives made of them."""

from __future__ import annotations

import math
import sqlite3
import struct
import zlib
from pathlib import Path

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

Tiles = dict[tuple[int, int, int], bytes]  # (z, x, y) XYZ, y down from the north -> image


def png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A one-colour PNG of size x size pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    """The XYZ tile (x, y) that holds a point at zoom z."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    rad = math.radians(lat)
    y = int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n)
    return x, y


def around(lat: float, lon: float, zooms: range, rgb: tuple[int, int, int]) -> Tiles:
    """Tiles of one colour covering 5 x 5 tiles around a point at each zoom."""
    image = png(rgb)
    tiles: Tiles = {}
    for z in zooms:
        cx, cy = tile_of(lat, lon, z)
        for x in range(cx - 2, cx + 3):
            for y in range(cy - 2, cy + 3):
                tiles[(z, x, y)] = image
    return tiles


def make_mbtiles(path: Path, tiles: Tiles, metadata: dict[str, str] | None = None) -> Path:
    """An MBTiles file: its rows numbered TMS-style (y up from the south)."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute(
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
        "tile_data BLOB)"
    )
    meta = {"name": "test area", "format": "png", "attribution": "© OpenStreetMap contributors"}
    meta.update(metadata or {})
    db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
    db.executemany(
        "INSERT INTO tiles VALUES (?, ?, ?, ?)",
        [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()],
    )
    db.commit()
    db.close()
    return path


def make_pmtiles(
    path: Path, tiles: Tiles, tile_type: TileType = TileType.PNG, attribution: str = ""
) -> Path:
    """A PMTiles (version 3) file, tiles uncompressed."""
    with path.open("wb") as f:
        writer = Writer(f)
        for (z, x, y), data in sorted(tiles.items(), key=lambda t: zxy_to_tileid(*t[0])):
            writer.write_tile(zxy_to_tileid(z, x, y), data)
        zooms = [z for z, _, _ in tiles]
        writer.finalize(
            {
                "tile_type": tile_type,
                "tile_compression": Compression.NONE,
                "min_zoom": min(zooms),
                "max_zoom": max(zooms),
                "min_lon_e7": int(-3.0 * 1e7),
                "min_lat_e7": int(51.9 * 1e7),
                "max_lon_e7": int(-2.4 * 1e7),
                "max_lat_e7": int(52.2 * 1e7),
                "center_zoom": max(zooms),
                "center_lon_e7": int(-2.716 * 1e7),
                "center_lat_e7": int(52.0565 * 1e7),
            },
            {"attribution": attribution} if attribution else {},
        )
    return path
