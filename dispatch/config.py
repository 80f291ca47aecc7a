"""Settings: config.toml, overridden by DISPATCH_* environment variables.

Nothing is read at import time: `load_settings()` is called by the CLI or by
the app factory. A bad value raises `ConfigError` naming the key.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "DISPATCH_"
DEFAULT_CONFIG = Path("config.toml")
ORIGIN = re.compile(r"https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    backlog: int = Field(4096, ge=1, le=65535)
    tls_cert: str = ""
    tls_key: str = ""
    hsts_max_age_s: int = Field(31536000, ge=0)
    trusted_proxies: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    api_docs: bool = False

    @field_validator("trusted_proxies", "allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """From an environment variable: "a, b" is the list ["a", "b"]."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an address or a network (10.0.0.0/8)") from None
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for item in value:
            if not ORIGIN.fullmatch(item):
                raise ValueError(f"{item!r} is not an origin (scheme://host[:port], lower case)")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerSettings:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("set both server.tls_cert and server.tls_key, or neither")
        return self


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///dispatch.db"
    sqlite_synchronous: Literal["normal", "full"] = "normal"
    raises_at_once: int = Field(3, ge=1, le=50)
    raise_turn_wait_s: float = Field(1.0, gt=0, le=30)


class PubSubSettings(_Section):
    url: str = "memory://"


class AuthSettings(_Section):
    session_ttl_s: int = Field(43200, gt=0)
    max_failed_logins: int = Field(5, gt=0)
    lockout_s: int = Field(900, ge=0)
    backoff_base_s: float = Field(2, gt=0)
    backoff_max_s: float = Field(60, gt=0)
    source_free_failures: int = Field(10, gt=0)
    source_backoff_max_s: float = Field(300, gt=0)
    throttle_forget_s: float = Field(900, gt=0)
    supervisor_second_factor: bool = True
    second_factor_step_s: int = Field(300, gt=0, le=3600)
    secret_key: str = ""
    console_idle_s: int = Field(1800, gt=0)
    console_max_s: int = Field(43200, gt=0)


class PagesSettings(_Section):
    hold_to_alert_s: float = Field(0.8, gt=0, le=10)
    hold_to_escalate_s: float = Field(2.5, gt=0, le=20)
    not_delivered_after_s: float = Field(15, gt=0)
    no_crew_after_s: float = Field(60, gt=0)
    share_after_cancel_s: float = Field(900, ge=0)
    max_press_age_s: float = Field(3600, gt=0)
    officer_app_name: str = Field("Notes", min_length=1, max_length=40)
    officer_ready_text: str = Field("Hold", max_length=60)
    officer_urgent_text: str = Field("Hold: urgent", max_length=60)
    officer_sending_text: str = Field("Sending", max_length=60)
    officer_sent_text: str = Field("Sent", max_length=60)
    officer_assigned_text: str = Field("On the way", max_length=60)
    officer_on_scene_text: str = Field("Arrived", max_length=60)
    officer_resolved_text: str = Field("Done", max_length=60)
    officer_cancelled_text: str = Field("Cancelled", max_length=60)
    officer_not_delivered_text: str = Field("NOT delivered - use your radio", max_length=120)
    officer_no_crew_text: str = Field("No crew yet: use your radio", max_length=120)
    tile_url: str = Field("", pattern=r"^(https?://\S*\{z\}\S*)?$", max_length=500)
    tile_attribution: str = Field("", max_length=300)


class MapsSettings(_Section):
    dir: str = Field("maps", min_length=1, max_length=500)
    tile_cache_s: int = Field(2592000, ge=0)
    near_radius_m: float = Field(2000, gt=0, le=50000)


class SpeedSettings(_Section):
    foot: float = Field(2.0, gt=0)
    bike: float = Field(5.0, gt=0)
    car: float = Field(9.0, gt=0)


class DispatchSettings(_Section):
    position_fresh_s: float = Field(60, gt=0)
    detour_factor: float = Field(1.4, ge=1.0)
    offer_timeout_s: float = Field(20, gt=0)
    reoffer_after_s: float = Field(120, ge=0)
    disconnect_grace_s: float = Field(3.0, ge=0)
    urgent_crews: int = Field(2, ge=1, le=10)
    routine_wait_max_s: float = Field(1.0, ge=0, le=10)
    sweep_interval_s: float = Field(1.0, gt=0)
    speed_mps: SpeedSettings = SpeedSettings()


class RealtimeSettings(_Section):
    max_message_bytes: int = Field(65536, ge=1024)
    rate_per_s: float = Field(20.0, gt=0)
    rate_burst: int = Field(40, ge=1)
    flood_close_after: int = Field(20, ge=1)
    outbox_limit: int = Field(2000, ge=10)
    replay_limit: int = Field(5000, ge=1)
    event_retention: int = Field(100000, ge=100)
    position_flush_s: float = Field(1.0, gt=0)
    close_timeout_s: float = Field(5.0, gt=0)
    admit_unsynced: int = Field(3000, ge=1)
    sync_within_s: float = Field(30.0, gt=0)
    supervisor_positions_every_s: float = Field(0.25, gt=0, le=5)
    gc_freeze_every_s: float = Field(1.0, ge=0)
    gc_collect_after_closed: int = Field(20000, ge=1)


class ClusterSettings(_Section):
    heartbeat_s: float = Field(0.5, gt=0, le=10)
    dead_after_s: float = Field(2.5, gt=0, le=60)


class LoggingSettings(_Section):
    json_lines: bool = False
    level: Literal["debug", "info", "warning", "error"] = "info"
    connections: bool = False  # two lines (one with the client's address) per websocket


class MetricsSettings(_Section):
    allow: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])


class PlanningSettings(_Section):
    timezone: str = "Europe/London"
    tolerance: float = Field(0.05, ge=0, le=1)
    place_gap_h: float = Field(48, ge=0, le=24 * 60)
    rest_h: float = Field(11, ge=0, le=72)
    per_officer_per_day: int = Field(1, ge=1, le=6)
    min_duration_min: int = Field(45, ge=5, le=24 * 60)
    max_duration_min: int = Field(120, ge=5, le=24 * 60)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_timezone(value)


class RetentionSettings(_Section):
    """How long personal data is kept (0: for ever); see dispatch/audit/retention.py."""

    crew_positions_h: float = Field(24, ge=0)
    incident_tracks_days: float = Field(365, ge=0)
    alert_personal_days: float = Field(365, ge=0)
    events_days: float = Field(30, ge=0)
    audit_days: float = Field(2190, ge=0)
    purge_hour_utc: int = Field(3, ge=0, le=23)


class SchedulerSettings(_Section):
    brief_lead_min: float = Field(60, ge=0, le=7 * 24 * 60)
    late_after_s: float = Field(60, ge=0)


class CapSettings(_Section):
    """Alerts as OASIS CAP 1.2 messages (dispatch/cap): the export and the webhook."""

    sender: str = Field("dispatch@localhost", min_length=1, max_length=200, pattern=r"^[^\s,<&]+$")
    sender_name: str = Field("", max_length=200)
    status: Literal["Actual", "Exercise", "Test"] = "Actual"
    restriction: str = Field(
        "Police only: not for release outside the force.", min_length=1, max_length=500
    )
    addresses: list[str] = Field(default_factory=list)
    language: str = Field("en-GB", pattern=r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
    event: str = Field("Officer requests assistance", min_length=1, max_length=200)
    web_link: str = Field("", max_length=500)
    contact: str = Field("", max_length=200)
    min_radius_m: float = Field(50, gt=0, le=100_000)
    include_note: bool = False
    webhook_url: str = Field("", pattern=r"^(https?://\S+)?$", max_length=500)
    webhook_secret: str = ""
    webhook_timeout_s: float = Field(5, gt=0, le=120)
    webhook_queue: int = Field(1000, ge=1, le=1_000_000)
    webhook_attempts: int = Field(10, ge=1, le=1000)
    webhook_retry_base_s: float = Field(0.5, gt=0)
    webhook_retry_max_s: float = Field(60, gt=0)

    @field_validator("addresses", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("addresses")
    @classmethod
    def _plain_addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.strip() or '"' in item:
                raise ValueError(f"{item!r}: an address is not empty and has no double quote")
        return value

    @field_validator("web_link")
    @classmethod
    def _link_template(cls, value: str) -> str:
        if value and ("{id}" not in value or not re.match(r"^https?://\S+$", value)):
            raise ValueError("a web link is an http(s) URL with {id} where the alert's id goes")
        return value

    @model_validator(mode="after")
    def _signed(self) -> CapSettings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError(
                "cap.webhook_url needs cap.webhook_secret (set DISPATCH_CAP_WEBHOOK_SECRET)"
            )
        return self


class PublicReportsSettings(_Section):
    """The public's report page /report and its API (dispatch/public_reports)."""

    force_name: str = Field("the police", min_length=1, max_length=100)
    emergency_number: str = Field("999", min_length=1, max_length=20)
    non_emergency_number: str = Field("101", max_length=20)
    languages: list[str] = Field(default_factory=lambda: ["en", "pl"], min_length=1)
    # The page's words by language, over the built-in ones (dispatch/public_reports/strings.json).
    wording: dict[str, dict[str, str]] = Field(default_factory=dict)
    centre_lat: float = Field(52.0565, ge=-90, le=90)
    centre_lon: float = Field(-2.7160, ge=-180, le=180)
    radius_m: float = Field(15000, gt=0, le=500_000)
    position_decimals: int = Field(3, ge=1, le=6)
    max_age_days: float = Field(90, gt=0, le=3660)
    future_skew_s: float = Field(300, ge=0, le=3600)
    description_max: int = Field(500, ge=0, le=5000)
    max_body_bytes: int = Field(4096, ge=512, le=65536)
    source_per_min: float = Field(2, gt=0)
    source_burst: int = Field(10, ge=1)
    all_per_min: float = Field(600, gt=0)
    all_burst: int = Field(100, ge=1)
    queue_limit: int = Field(200, ge=1, le=100_000)
    pow_bits: int = Field(16, ge=0, le=28)
    pow_ttl_s: float = Field(600, gt=0, le=86400)
    # Risk from reports (dispatch/planning/report_risk.py).
    half_life_days: float = Field(90, gt=0, le=3650)
    risk_floor: float = Field(0.1, gt=0, le=1)
    hourly_floor: float = Field(0.25, gt=0, le=1)

    @field_validator("languages", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("languages")
    @classmethod
    def _language_tags(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"[a-z]{2,3}", item):
                raise ValueError(f"{item!r} is not a language code (e.g. en, cy, pl)")
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value

    @model_validator(mode="after")
    def _wording_languages(self) -> PublicReportsSettings:
        for language in self.wording:
            if language not in self.languages:
                raise ValueError(f"wording for {language!r}, which is not in languages")
        return self


class IncidentsSettings(_Section):
    """Incident messages, crews' calls for help and the false-alarm report (issue 14)."""

    message_max_chars: int = Field(280, ge=20, le=500)
    false_alarm_limit: int = Field(3, ge=1, le=100)
    false_alarm_months: int = Field(12, ge=1, le=120)
    signal_max_age_s: float = Field(60, gt=0, le=3600)


def known_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r} (use an IANA name, e.g. Europe/London)"
        ) from None
    return name


class WelfareSettings(_Section):
    """Officer welfare (issue 14): check-ins, silent phones, the escort timer."""

    checkin_grace_s: float = Field(120, ge=0)
    checkin_alert_after_s: float = Field(300, ge=0)
    silent_after_s: float = Field(180, gt=0)
    startup_grace_s: float = Field(180, ge=0)
    heard_every_s: float = Field(15, gt=0)
    sweep_s: float = Field(5, gt=0)
    escort_presets_min: list[int] = Field(default_factory=lambda: [5, 10, 20], max_length=6)

    @model_validator(mode="after")
    def _heard_inside_silence(self) -> WelfareSettings:
        if self.heard_every_s >= self.silent_after_s:
            raise ValueError("welfare.heard_every_s must be less than welfare.silent_after_s")
        return self


class Settings(_Section):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    pubsub: PubSubSettings = PubSubSettings()
    auth: AuthSettings = AuthSettings()
    pages: PagesSettings = PagesSettings()
    maps: MapsSettings = MapsSettings()
    dispatch: DispatchSettings = DispatchSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    metrics: MetricsSettings = MetricsSettings()
    cluster: ClusterSettings = ClusterSettings()
    logging: LoggingSettings = LoggingSettings()
    planning: PlanningSettings = PlanningSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    retention: RetentionSettings = RetentionSettings()
    cap: CapSettings = CapSettings()
    incidents: IncidentsSettings = IncidentsSettings()
    welfare: WelfareSettings = WelfareSettings()
    public_reports: PublicReportsSettings = PublicReportsSettings()


def _env_names(model: type[BaseModel], path: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Map every leaf key to its environment variable name."""
    names: dict[str, tuple[str, ...]] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.update(_env_names(annotation, (*path, name)))
        else:
            key = (*path, name)
            names[ENV_PREFIX + "_".join(key).upper()] = key
    return names


def _set(tree: dict[str, Any], key: tuple[str, ...], value: str) -> None:
    for part in key[:-1]:
        tree = tree.setdefault(part, {})
    tree[key[-1]] = value


def load_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read config.toml (if present), apply DISPATCH_* variables, then `overrides`.

    `overrides` uses dotted keys ("dispatch.offer_timeout_s"); tests use it.
    """
    env = os.environ if env is None else env
    source = path or Path(env.get(ENV_PREFIX + "CONFIG", str(DEFAULT_CONFIG)))
    tree: dict[str, Any] = {}
    origin: dict[tuple[str, ...], str] = {}
    if source.exists():
        try:
            tree = tomllib.loads(source.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    elif path is not None:
        raise ConfigError(f"{source}: no such config file")
    for var, key in _env_names(Settings, ()).items():
        if var in env:
            _set(tree, key, env[var])
            origin[key] = var
    for dotted, value in (overrides or {}).items():
        _set(tree, tuple(dotted.split(".")), value)
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = tuple(str(p) for p in err["loc"])
            where = f" (from {origin[key]})" if key in origin else f" (in {source})"
            problems.append(f"{'.'.join(key)}: {err['msg']}{where}")
        raise ConfigError("bad configuration: " + "; ".join(problems)) from None
