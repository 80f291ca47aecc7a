"""`dispatch tiles import|remove` and `dispatch gazetteer import` (the CLI's parts for maps)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from dispatch.config import Settings
from dispatch.maps import gazetteer
from dispatch.maps.naming import NamedPoint
from dispatch.maps.tiles import TilesError, describe, import_archive, remove_archive
from dispatch.storage.db import Database

COMMANDS = ("tiles", "gazetteer")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tiles = sub.add_parser(
        "tiles", help="street maps from a file of the force's area"
    ).add_subparsers(dest="action", required=True)
    load = tiles.add_parser(
        "import", help="make a raster MBTiles or PMTiles archive the maps' tiles (docs/maps.md)"
    )
    load.add_argument("file", type=Path)
    tiles.add_parser("remove", help="remove the tiles: the maps draw a grid again")
    names = sub.add_parser("gazetteer", help="names for places").add_subparsers(
        dest="action", required=True
    )
    named = names.add_parser(
        "import", help="replace the gazetteer with a CSV (name,lat,lon) or GeoJSON file of points"
    )
    named.add_argument("file", type=Path)


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "tiles":
        return _tiles(settings, args)
    return _gazetteer(settings, args.file)


def _tiles(settings: Settings, args: argparse.Namespace) -> int:
    directory = Path(settings.maps.dir)
    if args.action == "remove":
        removed = remove_archive(directory)
        print("Tiles removed: the maps draw a grid." if removed else f"No tiles in {directory}.")
        return 0
    try:
        info = import_archive(args.file, directory)
    except TilesError as exc:
        print(f"dispatch: {exc.message} ({exc.code})", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"dispatch: {directory}: {exc.strerror} (unwritable)", file=sys.stderr)
        return 2
    print(f"Imported {args.file.name}: {describe(info)}.")
    print(f"Stored in {directory}/tiles.{info.kind}; the maps use it now (no restart needed).")
    return 0


def _gazetteer(settings: Settings, path: Path) -> int:
    try:
        text = path.read_text(encoding="utf-8")
        points = gazetteer.parse(text, path.name)
    except gazetteer.GazetteerError as exc:
        print(f"dispatch: {exc.message} ({exc.code})", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        print(
            f"dispatch: {path} cannot be read as UTF-8 text ({exc}) (unreadable)", file=sys.stderr
        )
        return 2
    before = asyncio.run(_replace(settings, points))
    print(f"Imported {len(points)} named places from {path.name} (replacing {before}).")
    return 0


async def _replace(settings: Settings, points: list[NamedPoint]) -> int:
    db = Database(settings.database.url)
    try:
        await db.create_tables()
        return await gazetteer.replace_all(db, points)
    finally:
        await db.close()
