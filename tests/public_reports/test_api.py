"""The public API on a real server: validation codes, the proof of work, throttling."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dispatch.auth.sessions import COOKIE_NAME
from dispatch.public_reports import pow
from dispatch.public_reports.models import PublicReport, PublicReportContact
from schemas.common import Role
from tests.public_reports.support import PUBLIC_SETTINGS, body, solved, submit
from tests.support import ManualClock, RunningServer, settings_for, start_server


@pytest.fixture
def server_settings() -> dict[str, object]:
    return dict(PUBLIC_SETTINGS)


@pytest.fixture
async def clocked(sqlite_url: str) -> AsyncIterator[tuple[RunningServer, ManualClock]]:
    clock = ManualClock()
    server = await start_server(settings_for(sqlite_url, **PUBLIC_SETTINGS), clock)
    try:
        yield server, clock
    finally:
        await server.stop()


async def test_a_report_is_received_stored_rounded_and_its_contact_kept_apart(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        response = await submit(http, vehicle_reg="ab12 cde", contact="07700 900123")
    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(answer) == {"status", "reference"} and answer["status"] == "received"
    assert re.fullmatch(r"[0-9a-f]{32}", answer["reference"])
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "set-cookie" not in response.headers
    [row] = await server.rows(PublicReport)
    assert row.id == answer["reference"]
    assert (row.lat, row.lon, row.kind, row.status, row.demo) == (
        52.056,
        -2.716,
        "following",
        "new",
        False,
    )
    assert row.vehicle_reg == "AB12CDE" and row.occurred_at == row.received_at
    assert "07700" not in row.description
    [contact] = await server.rows(PublicReportContact)
    assert (contact.report_id, contact.contact) == (row.id, "07700 900123")


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"kind": "burglary"}, 422, "bad_kind"),
        ({"lat": None}, 422, "bad_position"),
        ({"lat": 51.5074, "lon": -0.1278}, 422, "outside_area"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, 422, "time_in_future"),
        ({"occurred_at": "2001-01-01T00:00:00Z"}, 422, "time_too_old"),
        ({"occurred_at": "soon"}, 422, "bad_time"),
        ({"description": "x" * 501}, 422, "description_too_long"),
        ({"vehicle_reg": "<script>"}, 422, "bad_vehicle_reg"),
        ({"contact": "x" * 201}, 422, "contact_too_long"),
        ({"language": "xx"}, 422, "bad_language"),
        ({"deployment_id": "d1"}, 422, "invalid"),
    ],
)
async def test_bad_input_gets_its_code_and_a_sentence_and_stores_nothing(
    server: RunningServer, changes: dict[str, object], status: int, code: str
) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        response = await submit(http, **changes)
    assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"code", "message"} and answer["code"] == code
    assert answer["message"].endswith(".")
    assert await server.rows(PublicReport) == []


async def chunks(n: int) -> AsyncIterator[bytes]:
    """A body of no declared length: cut off as it arrives."""
    for _ in range(n):
        yield b"x" * 1024


async def test_bad_bodies_are_refused_before_any_work(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        not_json = await http.post("/api/public/reports", content=b"{kind: following")
        deep = await http.post("/api/public/reports", content=b"[" * 4000 + b"]" * 4000)
        big = await http.post("/api/public/reports", json=body(description="x" * 5000))
        chunked = await http.post("/api/public/reports", content=chunks(10))
        not_object = await http.post("/api/public/reports", json=["following"])
    assert (not_json.status_code, not_json.json()["code"]) == (400, "bad_json")
    assert deep.status_code in (400, 413)
    assert (big.status_code, big.json()["code"]) == (413, "body_too_large")
    assert (chunked.status_code, chunked.json()["code"]) == (413, "body_too_large")
    assert (not_object.status_code, not_object.json()["code"]) == (422, "invalid")
    assert await server.rows(PublicReport) == []


async def test_a_foreign_page_cannot_post(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        work = await solved(http)
        response = await http.post(
            "/api/public/reports",
            json={**body(), **work},
            headers={"Origin": "https://evil.example"},
        )
    assert (response.status_code, response.json()["code"]) == (403, "origin_refused")
    assert await server.rows(PublicReport) == []


async def test_the_proof_of_work_wrong_reused_and_expired(
    clocked: tuple[RunningServer, ManualClock],
) -> None:
    server, clock = clocked
    async with httpx.AsyncClient(base_url=server.base) as http:
        got = (await http.get("/api/public/challenge")).json()
        assert got["bits"] == 4 and got["expires_in_s"] == 600
        token = got["challenge"]
        wrong = next(
            f"{n:x}"
            for n in range(1000)
            if pow.leading_zero_bits(pow.work_digest(token, f"{n:x}")) < 4
        )
        missing = await http.post("/api/public/reports", json=body())
        bad = await http.post(
            "/api/public/reports", json={**body(), "challenge": token, "nonce": wrong}
        )
        good = {"challenge": token, "nonce": pow.solve(token, 4)}
        first = await http.post("/api/public/reports", json={**body(), **good})
        again = await http.post("/api/public/reports", json={**body(), **good})
        late = await solved(http)
        clock.advance(timedelta(seconds=601))
        expired = await http.post("/api/public/reports", json={**body(), **late})
    assert (missing.status_code, missing.json()["code"]) == (403, "pow_invalid")
    assert (bad.status_code, bad.json()["code"]) == (403, "pow_invalid")
    assert first.status_code == 201
    assert (again.status_code, again.json()["code"]) == (403, "pow_used")
    assert (expired.status_code, expired.json()["code"]) == (403, "pow_expired")
    assert len(await server.rows(PublicReport)) == 1


async def test_a_thousand_submissions_from_one_source_in_a_minute_are_throttled(
    clocked: tuple[RunningServer, ManualClock],
) -> None:
    server, clock = clocked
    app: Any = server.server.config.app
    desk = app.state.public_desk

    def work() -> dict[str, str]:
        """A challenge as the server would issue it (its key): each submission its own."""
        token = pow.issue(desk.key, now=clock.now, bits=4, random_bytes=secrets.token_bytes(16))
        return {"challenge": token, "nonce": pow.solve(token, 4)}

    statuses: Counter[int] = Counter()
    retry_after: set[str] = set()
    async with httpx.AsyncClient(base_url=server.base) as http:
        for _ in range(20):  # 50 at once, 3 s apart: 1,000 in a minute
            batch = [{**body(), **work()} for _ in range(50)]
            answers = await asyncio.gather(
                *(http.post("/api/public/reports", json=item) for item in batch)
            )
            for response in answers:
                statuses[response.status_code] += 1
                if response.status_code == 429:
                    assert response.json()["code"] == "rate_limited"
                    retry_after.add(response.headers["retry-after"])
            clock.advance(timedelta(seconds=3))
    # The burst of 10 and the one token the minute earns at 2 a minute; the rest refused.
    assert statuses == {201: 11, 429: 989}
    assert len(await server.rows(PublicReport)) == 11
    assert all(int(s) >= 1 for s in retry_after)


async def test_sources_behind_a_trusted_balancer_are_told_apart(sqlite_url: str) -> None:
    settings = settings_for(
        sqlite_url,
        **PUBLIC_SETTINGS,
        **{"public_reports.source_burst": 1, "server.trusted_proxies": ["127.0.0.1"]},
    )
    server = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=server.base) as http:

            async def from_(address: str) -> int:
                work = await solved(http)
                headers = {"X-Forwarded-For": address}
                response = await http.post(
                    "/api/public/reports", json={**body(), **work}, headers=headers
                )
                return response.status_code

            assert [await from_("203.0.113.5"), await from_("203.0.113.5")] == [201, 429]
            assert await from_("198.51.100.7") == 201
    finally:
        await server.stop()


async def test_an_untrusted_forwarded_address_is_ignored(sqlite_url: str) -> None:
    settings = settings_for(sqlite_url, **PUBLIC_SETTINGS, **{"public_reports.source_burst": 1})
    server = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=server.base) as http:
            codes = []
            for address in ("203.0.113.5", "198.51.100.7"):
                work = await solved(http)
                response = await http.post(
                    "/api/public/reports",
                    json={**body(), **work},
                    headers={"X-Forwarded-For": address},
                )
                codes.append(response.status_code)
        assert codes == [201, 429]
    finally:
        await server.stop()


async def test_the_page_is_served_with_its_headers_and_no_cookie(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        page = await http.get("/report")
        welsh = await http.get("/report?lang=pl")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "worker-src 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "set-cookie" not in page.headers
    assert "call 999" in page.text and "the police" in page.text
    assert "{{" not in page.text
    assert welsh.text == page.text  # the language is chosen on the page


async def test_the_staff_session_cookie_is_neither_read_nor_set(server: RunningServer) -> None:
    supervisor = await server.add_user(Role.SUPERVISOR)
    token = (await server.sign_in(supervisor))["token"]
    cookies = {COOKIE_NAME: token}
    async with httpx.AsyncClient(base_url=server.base) as http:
        plain = [await http.get("/report"), await submit(http)]
    async with httpx.AsyncClient(base_url=server.base, cookies=cookies) as http:
        signed_in = [await http.get("/report"), await submit(http)]
    for a, b in zip(plain, signed_in, strict=True):
        assert "set-cookie" not in b.headers
        assert (a.status_code, len(a.content)) == (b.status_code, len(b.content))
    assert plain[0].text == signed_in[0].text


async def test_many_at_once_from_many_sources_each_received_one_is_stored(
    sqlite_url: str,
) -> None:
    settings = settings_for(
        sqlite_url,
        **PUBLIC_SETTINGS,
        **{"server.trusted_proxies": ["127.0.0.1"], "public_reports.queue_limit": 20},
    )
    server = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=server.base) as http:
            work = [await solved(http) for _ in range(120)]

            async def one(n: int) -> httpx.Response:
                headers = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
                return await http.post(
                    "/api/public/reports", json={**body(), **work[n]}, headers=headers
                )

            answers = await asyncio.gather(*(one(n) for n in range(120)))
    finally:
        await server.stop()
    codes = Counter((r.status_code, r.json().get("code")) for r in answers)
    assert set(codes) <= {(201, None), (503, "busy"), (429, "rate_limited")}, codes
    stored = {r.id for r in await server.rows(PublicReport)}
    received = {r.json()["reference"] for r in answers if r.status_code == 201}
    assert received == stored and len(stored) >= 20  # each "received" is stored, no other


async def test_floods_without_work_from_many_sources_leave_everyone_s_bucket_alone(
    sqlite_url: str,
) -> None:
    settings = settings_for(
        sqlite_url,
        **PUBLIC_SETTINGS,
        **{
            "server.trusted_proxies": ["127.0.0.1"],
            "public_reports.source_burst": 1,
            "public_reports.source_per_min": 0.01,
            "public_reports.all_burst": 3,
            "public_reports.all_per_min": 1,
        },
    )
    clock = ManualClock()
    server = await start_server(settings, clock)
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:
            token = (await http.get("/api/public/challenge")).json()["challenge"]
            wrong = next(
                f"{n:x}"
                for n in range(1000)
                if pow.leading_zero_bits(pow.work_digest(token, f"{n:x}")) < 4
            )
            no_work: list[dict[str, Any]] = [
                {"content": b""},
                {"content": b"{kind: following"},
                {"json": body()},
                {"json": {**body(), "challenge": token, "nonce": wrong}},
                {"json": {**body(), "challenge": "v1.1.4." + "0" * 65, "nonce": "0"}},
            ]

            async def flood(n: int) -> httpx.Response:
                # Each of 300 sources its own /64, trying twice.
                headers = {"X-Forwarded-For": f"2001:db8:{n // 2:x}::{n % 2 + 1}"}
                return await http.post(
                    "/api/public/reports", headers=headers, **no_work[n % len(no_work)]
                )

            flooded: Counter[tuple[int, str]] = Counter()
            for start in range(0, 600, 50):
                answers = await asyncio.gather(*(flood(n) for n in range(start, start + 50)))
                flooded.update((r.status_code, r.json()["code"]) for r in answers)

            async def from_(address: str) -> httpx.Response:
                work = await solved(http)
                headers = {"X-Forwarded-For": address}
                return await http.post(
                    "/api/public/reports", json={**body(), **work}, headers=headers
                )

            first = await from_("203.0.113.1")
            second = await from_("2001:db8:aaaa:1::1")
            same_64 = await from_("2001:db8:aaaa:1:ffff::2")  # the same subscriber
            third = await from_("203.0.113.2")
            everyone = await from_("203.0.113.3")  # everyone's bucket is empty now
            clock.advance(timedelta(seconds=60))  # one token for everyone, none for a source
            again = await from_("203.0.113.3")  # its own token was given back
    finally:
        await server.stop()
    # Each source's first try refused for what it is, its second by its own limit.
    assert flooded[(429, "rate_limited")] == 300
    assert sum(flooded.values()) == 600 and not any(s == 201 for s, _ in flooded)
    assert [first.status_code, second.status_code, third.status_code] == [201, 201, 201]
    assert (same_64.status_code, same_64.json()["code"]) == (429, "rate_limited")
    assert "connection" in same_64.json()["message"]
    assert (everyone.status_code, everyone.json()["code"]) == (429, "rate_limited")
    assert everyone.json()["message"] == "Too many reports at once: try again later."
    assert int(everyone.headers["retry-after"]) == 60
    assert again.status_code == 201, again.text
    assert len(await server.rows(PublicReport)) == 4
