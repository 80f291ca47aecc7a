"""The public's report page and its API: no account, nothing about operations.

GET /report (the page), GET /api/public/challenge (a proof-of-work challenge) and
POST /api/public/reports (a report). Every answer has the same shape whatever the state
of operations: these routes read nothing from the database and write only the report.
A submission is refused as cheaply as possible, in this order: its source's rate limit
(no body read yet), the body's size, its JSON, its fields, the proof of work (one hash),
then the limit for everyone; then one small write through the writer
(dispatch/public_reports/writer.py). Nothing here takes a lock the alert path takes.
Only a submission with its work done takes a token from everyone's bucket, so sources
sending no work cannot spend it for the others; one refused by that bucket has its
source's token given back (its challenge is spent: a fresh one is needed, or a replayed
challenge could empty the bucket).
"""

from __future__ import annotations

import html
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from dispatch.app_deps import request_source
from dispatch.config import PublicReportsSettings, Settings
from dispatch.maps.tiles import page_tiles
from dispatch.pages.router import render
from dispatch.public_reports import pow
from dispatch.public_reports.limits import Buckets, retry_after_s, source_key
from dispatch.public_reports.models import KINDS, PublicReport, PublicReportContact
from dispatch.public_reports.strings import page_strings
from dispatch.public_reports.validation import Refusal, Rules, ValidReport, check_report
from dispatch.public_reports.writer import ReportWriter
from dispatch.services import Services

API_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
# The page loads only this server's files: no inline script, no other site, no frames.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": PAGE_CSP,
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}
STATUS = {
    "bad_json": 400,
    "body_too_large": 413,
    "pow_invalid": 403,
    "pow_expired": 403,
    "pow_used": 403,
    "rate_limited": 429,
    "busy": 503,
    "not_stored": 503,
}
SENTENCES = {
    "bad_json": "The body is not JSON.",
    "body_too_large": "The report is too large.",
    "pow_invalid": "The page's check did not pass: reload the page and send it again.",
    "pow_expired": "The page was open too long: send it again.",
    "pow_used": "This check was used already: send it again.",
    "rate_limited": "Too many reports from this connection: try again later.",
    "busy": "Too many reports at once: try again in a minute.",
    "not_stored": "The report could not be stored: try again in a minute.",
}
# rate_limited by everyone's bucket, not this connection's.
EVERYONE_LIMITED = "Too many reports at once: try again later."
WORD = re.compile(r"\{\{t\.([a-z_.]+)\}\}")


@dataclass
class PublicDesk:
    """What the public routes hold: rules, limits, the challenge key and spent challenges."""

    settings: PublicReportsSettings
    rules: Rules
    key: bytes
    by_source: Buckets
    everyone: Buckets
    writer: ReportWriter
    spent: pow.SpentChallenges = field(default_factory=pow.SpentChallenges)

    @classmethod
    def build(cls, settings: Settings) -> PublicDesk:
        p = settings.public_reports
        # With auth.secret_key set every process of a cluster checks the others' challenges.
        secret = settings.auth.secret_key
        key = pow.derive_key(secret) if secret else secrets.token_bytes(32)
        return cls(
            settings=p,
            rules=Rules.of(p),
            key=key,
            by_source=Buckets(per_min=p.source_per_min, burst=p.source_burst),
            everyone=Buckets(per_min=p.all_per_min, burst=p.all_burst),
            writer=ReportWriter(limit=p.queue_limit),
        )


def refusal(code: str, message: str | None = None, **headers: str) -> JSONResponse:
    body = {"code": code, "message": message or SENTENCES[code]}
    return JSONResponse(body, status_code=STATUS.get(code, 422), headers=API_HEADERS | headers)


def page_config(p: PublicReportsSettings, tiles: object) -> dict[str, Any]:
    return {
        "languages": p.languages,
        "strings": page_strings(p),
        "kinds": list(KINDS),
        "centre": [p.centre_lat, p.centre_lon],
        "radius_m": p.radius_m,
        "description_max": p.description_max,
        "tiles": tiles,  # the force's own tiles, or None: the drawn grid (never tile_url)
    }


def report_page(p: PublicReportsSettings, tiles: object) -> str:
    config = page_config(p, tiles)
    words = config["strings"][p.languages[0]]
    body = render("report.html", words["title"], config)
    body = body.replace("{{LANG}}", p.languages[0])
    return WORD.sub(lambda m: html.escape(words.get(m.group(1), "")), body)


def build_router(desk: PublicDesk) -> APIRouter:
    router = APIRouter(tags=["public"])
    p = desk.settings

    @router.get("/report", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(report_page(p, await page_tiles(request)), headers=PAGE_HEADERS)

    @router.get("/api/public/challenge")
    async def challenge(request: Request) -> JSONResponse:
        now = _services(request).dispatcher.clock()
        token = pow.issue(desk.key, now=now, bits=p.pow_bits, random_bytes=secrets.token_bytes(16))
        body = {"challenge": token, "bits": p.pow_bits, "expires_in_s": int(p.pow_ttl_s)}
        return JSONResponse(body, headers=API_HEADERS)

    @router.post("/api/public/reports")
    async def submit(request: Request) -> Response:
        s = _services(request)
        now = s.dispatcher.clock()
        source = source_key(request_source(request))
        wait = desk.by_source.take(source, now)
        if wait is not None:
            return refusal("rate_limited", **_retry_after(wait))
        raw = await _read_capped(request, p.max_body_bytes)
        if raw is None:
            return refusal("body_too_large")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return refusal("bad_json")
        checked = check_report(body, rules=desk.rules, now=now)
        if isinstance(checked, Refusal):
            return refusal(checked.code, checked.message)
        solved = pow.check(
            desk.key,
            body.get("challenge"),
            body.get("nonce"),
            now=now,
            ttl_s=p.pow_ttl_s,
            min_bits=p.pow_bits,
        )
        if isinstance(solved, pow.Failed):
            return refusal(solved.code)
        if not desk.spent.spend(solved, now):
            return refusal("pow_used")
        wait = desk.everyone.take("", now)  # only now: work done, and the challenge spent
        if wait is not None:
            desk.by_source.give_back(source)  # the source did nothing wrong
            return refusal("rate_limited", EVERYONE_LIMITED, **_retry_after(wait))
        report, contact = _rows(checked, now)
        done = desk.writer.submit(s.db, (report, contact))
        if done is None:
            return refusal("busy")
        try:
            await done
        except Exception:
            return refusal("not_stored")
        body = {"status": "received", "reference": report.id}
        return JSONResponse(body, status_code=201, headers=API_HEADERS)

    return router


def _retry_after(wait_s: float) -> dict[str, str]:
    return {"Retry-After": str(retry_after_s(wait_s))}


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _read_capped(request: Request, cap: int) -> bytes | None:
    """The body, or None if it is (or says it is) over `cap` bytes: never read past it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _rows(v: ValidReport, now: datetime) -> tuple[PublicReport, PublicReportContact | None]:
    report = PublicReport(
        id=uuid.uuid4().hex,
        received_at=now,
        occurred_at=v.occurred_at,
        kind=v.kind,
        lat=v.lat,
        lon=v.lon,
        description=v.description,
        vehicle_reg=v.vehicle_reg,
        language=v.language,
    )
    contact = PublicReportContact(report_id=report.id, contact=v.contact) if v.contact else None
    return report, contact


def install_public_reports(app: FastAPI, settings: Settings) -> None:
    desk = PublicDesk.build(settings)
    app.state.public_desk = desk
    app.include_router(build_router(desk))
