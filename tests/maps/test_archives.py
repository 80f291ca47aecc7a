"""Tile archives read without a server: MBTiles (rows numbered from the south: TMS) and
PMTiles give the tile a map asks for by XYZ; an import checks the file, copies it into
maps.dir and replaces the previous archive; a bad file is refused and changes nothing."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest
from pmtiles.tile import TileType

from dispatch.maps.tiles import (
    TilesError,
    TileStore,
    import_archive,
    installed_path,
    open_archive,
    remove_archive,
)
from tests.maps.support import make_mbtiles, make_pmtiles, png

RED, BLUE, GREEN = png((200, 0, 0)), png((0, 0, 200)), png((0, 160, 0))
# At zoom 2, tile y=0 is the top row (the north) and y=3 the bottom one.
TILES = {(2, 1, 0): RED, (2, 1, 3): BLUE, (3, 4, 2): GREEN}


@pytest.mark.parametrize("build", [make_mbtiles, make_pmtiles])
def test_an_archive_gives_the_tile_asked_for_by_xyz(tmp_path: Path, build: object) -> None:
    path = build(tmp_path / "area.bin", TILES)  # type: ignore[operator]
    archive = open_archive(path)
    assert archive.tile(2, 1, 0) == RED
    assert archive.tile(2, 1, 3) == BLUE
    assert archive.tile(3, 4, 2) == GREEN
    assert archive.tile(2, 2, 0) is None
    assert archive.tile(9, 0, 0) is None
    info = archive.info
    assert (info.image, info.min_zoom, info.max_zoom) == ("png", 2, 3)


def test_mbtiles_rows_are_numbered_from_the_south(tmp_path: Path) -> None:
    path = make_mbtiles(tmp_path / "area.mbtiles", {(2, 1, 0): RED})
    rows = sqlite3.connect(path).execute("SELECT zoom_level, tile_column, tile_row FROM tiles")
    assert rows.fetchall() == [(2, 1, 3)]  # TMS: the top row is the last
    assert open_archive(path).tile(2, 1, 0) == RED
    assert open_archive(path).tile(2, 1, 3) is None


def test_an_archive_says_its_area_and_attribution(tmp_path: Path) -> None:
    mb = make_mbtiles(tmp_path / "a.mbtiles", TILES, {"bounds": "-3.0,51.9,-2.4,52.2"})
    info = open_archive(mb).info
    assert info.kind == "mbtiles"
    assert info.bounds == (-3.0, 51.9, -2.4, 52.2)
    assert info.attribution == "© OpenStreetMap contributors"
    pm = make_pmtiles(tmp_path / "a.pmtiles", TILES, attribution="© OpenStreetMap contributors")
    info = open_archive(pm).info
    assert info.kind == "pmtiles"
    assert info.bounds == pytest.approx((-3.0, 51.9, -2.4, 52.2))
    assert info.attribution == "© OpenStreetMap contributors"
    config = info.page_config()
    assert config["url"] == f"/tiles/{{z}}/{{x}}/{{y}}?v={info.version}"
    assert (config["min_zoom"], config["max_zoom"]) == (2, 3)


def test_an_import_copies_the_archive_and_a_new_one_replaces_it(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    store = TileStore(maps)
    assert store.current() is None and store.page_config() is None
    source = make_mbtiles(tmp_path / "area.mbtiles", TILES)
    info = import_archive(source, maps)
    assert info.kind == "mbtiles"
    source.unlink()  # the server keeps its own copy
    first = store.current()
    assert first is not None and first.tile(2, 1, 0) == RED
    assert [p.name for p in maps.iterdir()] == ["tiles.mbtiles"]

    other = make_pmtiles(tmp_path / "area.pmtiles", {(2, 1, 0): GREEN})
    import_archive(other, maps)
    assert [p.name for p in maps.iterdir()] == ["tiles.pmtiles"]
    second = store.current()
    assert second is not None and second.tile(2, 1, 0) == GREEN
    assert second.info.version != first.info.version

    assert remove_archive(maps) is True
    assert store.current() is None
    assert remove_archive(maps) is False


def vector_mbtiles(path: Path) -> Path:
    make_mbtiles(path, {(2, 1, 0): gzip.compress(b"\x1a\x05layer")}, {"format": "pbf"})
    return path


def empty_mbtiles(path: Path) -> Path:
    return make_mbtiles(path, {})


def text_file(path: Path) -> Path:
    path.write_text("name,lat,lon\n")
    return path


def vector_pmtiles(path: Path) -> Path:
    return make_pmtiles(path, {(2, 1, 0): b"\x1a\x05layer"}, tile_type=TileType.MVT)


def not_sqlite_tiles(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE people (name TEXT)")
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize(
    ("build", "code", "says"),
    [
        (vector_mbtiles, "not_raster", "holds pbf tiles, not images"),
        (vector_pmtiles, "not_raster", "holds MVT tiles, not images"),
        (empty_mbtiles, "no_tiles", "holds no tiles"),
        (text_file, "not_tiles", "is neither an MBTiles nor a PMTiles file"),
        (not_sqlite_tiles, "not_tiles", "is not an MBTiles file"),
        (lambda path: path, "not_found", "There is no file"),
    ],
)
def test_a_bad_file_is_refused_and_the_tiles_in_use_stay(
    tmp_path: Path, build: object, code: str, says: str
) -> None:
    maps = tmp_path / "maps"
    import_archive(make_mbtiles(tmp_path / "good.mbtiles", TILES), maps)
    before = (maps / "tiles.mbtiles").read_bytes()
    with pytest.raises(TilesError) as refused:
        import_archive(build(tmp_path / "bad.file"), maps)  # type: ignore[operator]
    assert refused.value.code == code
    assert says in refused.value.message
    assert [p.name for p in maps.iterdir()] == ["tiles.mbtiles"]  # no copy left behind
    assert (maps / "tiles.mbtiles").read_bytes() == before
    assert installed_path(maps) == maps / "tiles.mbtiles"
