"""config.toml, DISPATCH_* overrides, and bad values that stop the start naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_config_loads_and_every_key_is_commented() -> None:
    settings = load_settings(ROOT / "config.toml", env={})
    assert settings.dispatch.offer_timeout_s == 20
    assert settings.database.url.startswith("sqlite+aiosqlite")
    lines = (ROOT / "config.toml").read_text().splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            above = i - 1
            while "=" in lines[above] and not lines[above].startswith("#"):
                above -= 1  # keys grouped under one comment
            assert lines[above].startswith("#"), f"config.toml line {i + 1} has no comment"


def test_environment_overrides_the_file() -> None:
    env = {"DISPATCH_DISPATCH_OFFER_TIMEOUT_S": "7.5", "DISPATCH_DISPATCH_SPEED_MPS_CAR": "12"}
    settings = load_settings(ROOT / "config.toml", env=env)
    assert settings.dispatch.offer_timeout_s == 7.5
    assert settings.dispatch.speed_mps.car == 12


def test_a_bad_environment_value_names_the_key_and_the_variable() -> None:
    env = {"DISPATCH_REALTIME_RATE_BURST": "lots"}
    with pytest.raises(ConfigError) as err:
        load_settings(ROOT / "config.toml", env=env)
    assert "realtime.rate_burst" in str(err.value)
    assert "DISPATCH_REALTIME_RATE_BURST" in str(err.value)


def test_a_bad_file_value_and_an_unknown_key_are_named(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[dispatch]\ndetour_factor = 0.5\nfavourite_colour = 'blue'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert "dispatch.detour_factor" in str(err.value)
    assert "dispatch.favourite_colour" in str(err.value)


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[dispatch\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, env={})
