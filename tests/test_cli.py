"""The `dispatch` command, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISPATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db"}
    return subprocess.run(
        [sys.executable, "-m", "dispatch.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    out = run("--help", tmp_path=tmp_path)
    assert out.returncode == 0
    for command in ("serve", "demo", "user", "crew", "plan", "schema"):
        assert command in out.stdout


def test_schema_is_json_schema_of_the_whole_protocol(tmp_path: Path) -> None:
    target = tmp_path / "protocol.schema.json"
    out = run("schema", "--out", str(target), tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    schema = json.loads(target.read_text())
    for name in ("AlertRaise", "OfferAccept", "Snapshot", "Error", "ErrorCode", "SignIn"):
        assert name in schema["$defs"]


def test_demo_prints_sign_ins_once(tmp_path: Path) -> None:
    first = run("demo", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("crew ") == 6 and "supervisor" in first.stdout
    assert "20 deployments published" in first.stdout
    again = run("demo", tmp_path=tmp_path)
    assert again.returncode == 2 and "already has accounts" in again.stderr


def test_crew_and_user_add(tmp_path: Path) -> None:
    assert run("crew", "add", "CAR-9", "--mode", "car", tmp_path=tmp_path).returncode == 0
    added = run(
        "user",
        "add",
        "pc_jones",
        "--role",
        "crew",
        "--crew",
        "CAR-9",
        "--password-stdin",
        tmp_path=tmp_path,
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    taken = run("crew", "add", "CAR-9", "--mode", "bike", tmp_path=tmp_path)
    assert taken.returncode == 2 and "already exists" in taken.stderr
    no_crew = run("user", "add", "pc_x", "--role", "crew", "--crew", "NOPE", tmp_path=tmp_path)
    assert no_crew.returncode == 2 and "no crew with callsign" in no_crew.stderr


def test_a_bad_setting_stops_the_start_naming_the_key(tmp_path: Path) -> None:
    env_bad = {**os.environ, "DISPATCH_SERVER_PORT": "99999"}
    out = subprocess.run(
        [sys.executable, "-m", "dispatch.cli", "serve"],
        cwd=ROOT,
        env=env_bad,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "server.port" in out.stderr


def test_the_committed_json_schema_is_current() -> None:
    from schemas.jsonschema import protocol_schema

    committed = json.loads((ROOT / "docs" / "protocol.schema.json").read_text())
    assert committed == protocol_schema(), "run `make schema` and commit docs/protocol.schema.json"


def test_plan_prints_the_plan_with_its_figures_and_exports_it(tmp_path: Path) -> None:
    assert run("demo", tmp_path=tmp_path).returncode == 0
    ics, geo = tmp_path / "plan.ics", tmp_path / "places.geojson"
    out = run(
        "plan", "Jog On - Hereford", "--ics", str(ics), "--geojson", str(geo), tmp_path=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(" published ") == 20
    for figure in ("M1", "M2", "M3", "M4"):
        assert figure in out.stdout
    assert ics.read_text().count("BEGIN:VEVENT") == 20
    assert len(json.loads(geo.read_text())["features"]) == 8
    again = run("plan", "Jog On - Hereford", "--generate", tmp_path=tmp_path)
    assert again.returncode == 2 and "published" in again.stderr
    missing = run("plan", "No such op", tmp_path=tmp_path)
    assert missing.returncode == 2 and "No operation 'No such op'" in missing.stderr
