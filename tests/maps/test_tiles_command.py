"""`dispatch tiles import|remove`, run as a user runs it: the archive is checked and copied
into maps.dir; a bad file is refused with its code and changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.maps.support import make_mbtiles, make_pmtiles, png

ROOT = Path(__file__).resolve().parents[2]
TILES = {(2, 1, 0): png((200, 0, 0)), (3, 4, 2): png((0, 0, 200))}


def dispatch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[maps]\ndir = "{tmp_path / "maps"}"\n')
    return subprocess.run(
        [sys.executable, "-m", "dispatch.cli", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tiles_are_imported_replaced_and_removed(tmp_path: Path) -> None:
    source = make_mbtiles(tmp_path / "herefordshire.mbtiles", TILES)
    out = dispatch(tmp_path, "tiles", "import", str(source))
    assert out.returncode == 0, out.stderr
    assert "Imported herefordshire.mbtiles: PNG tiles (mbtiles), zoom 2 to 3." in out.stdout
    assert (tmp_path / "maps" / "tiles.mbtiles").read_bytes() == source.read_bytes()

    other = make_pmtiles(tmp_path / "area.pmtiles", TILES)
    out = dispatch(tmp_path, "tiles", "import", str(other))
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["tiles.pmtiles"]

    out = dispatch(tmp_path, "tiles", "remove")
    assert (out.returncode, out.stdout) == (0, "Tiles removed: the maps draw a grid.\n")
    assert list((tmp_path / "maps").iterdir()) == []


def test_a_file_that_is_not_a_tile_archive_is_refused(tmp_path: Path) -> None:
    good = make_mbtiles(tmp_path / "good.mbtiles", TILES)
    assert dispatch(tmp_path, "tiles", "import", str(good)).returncode == 0
    bad = tmp_path / "names.csv"
    bad.write_text("name,lat,lon\n")
    out = dispatch(tmp_path, "tiles", "import", str(bad))
    assert out.returncode == 2
    assert out.stderr == (
        "dispatch: names.csv is neither an MBTiles nor a PMTiles file (see docs/maps.md). "
        "(not_tiles)\n"
    )
    assert (tmp_path / "maps" / "tiles.mbtiles").read_bytes() == good.read_bytes()
