"""HTTPS: `dispatch tls init` makes a name-constrained local authority and a server
certificate; the server speaks TLS with them; cookies set under https are Secure and
responses carry HSTS; forwarded headers are believed from configured proxies only; and
what is open without sign-in loads nothing from another site."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from websockets.asyncio.client import connect

from dispatch.cli import main
from dispatch.config import ConfigError, load_settings
from dispatch.server import uvicorn_config
from dispatch.tls import TlsError, init, make_server_certificate
from schemas.common import Role
from tests.support import RunningServer, settings_for, start_server

HOST = "dispatch.test"


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def verifier(authority: Path, name: x509.DNSName | x509.IPAddress) -> Any:
    store = Store([load(authority)])
    return PolicyBuilder().store(store).build_server_verifier(name)


def client_context(authority: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(authority))


@contextlib.asynccontextmanager
async def running(sqlite_url: str, **overrides: Any) -> AsyncIterator[RunningServer]:
    server = await start_server(settings_for(sqlite_url, **overrides))
    try:
        yield server
    finally:
        await server.stop()


def tls_settings(tmp_path: Path) -> dict[str, Any]:
    files = init(tmp_path / "tls", HOST, ["127.0.0.1"])
    return {"server.tls_cert": str(files.server_cert), "server.tls_key": str(files.server_key)}


# `dispatch tls init` -------------------------------------------------------------------------


def test_init_makes_an_authority_that_vouches_for_this_server_only(tmp_path: Path) -> None:
    files = init(tmp_path, "Dispatch.Test.", ["127.0.0.1", "192.168.1.20"])

    for key in (files.authority_key, files.server_key):
        assert key.stat().st_mode & 0o777 == 0o600
    chain = x509.load_pem_x509_certificates(files.server_cert.read_bytes())
    assert len(chain) == 2 and chain[1] == load(files.authority_pem)
    assert x509.load_der_x509_certificate(files.authority_der.read_bytes()) == chain[1]
    now = datetime.now(UTC)
    for name in (
        x509.DNSName(HOST),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("192.168.1.20")),
    ):
        verifier(files.authority_pem, name).verify(chain[0], [])
    with pytest.raises(VerificationError):
        verifier(files.authority_pem, x509.DNSName("other.test")).verify(chain[0], [])

    # Its key, stolen, could not vouch for another site: the authority is name-constrained.
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    ca_key: Any = load_pem_private_key(files.authority_key.read_bytes(), None)
    _, forged = make_server_certificate(ca_key, chain[1], "bank.example", [], now)
    with pytest.raises(VerificationError):
        verifier(files.authority_pem, x509.DNSName("bank.example")).verify(forged, [])


def test_init_refuses_bad_names_and_never_overwrites(tmp_path: Path) -> None:
    with pytest.raises(TlsError, match="not a host name"):
        init(tmp_path, "dispatch_test", [])
    with pytest.raises(TlsError, match="not an IP address"):
        init(tmp_path, HOST, ["192.168.1"])
    assert list(tmp_path.iterdir()) == []
    files = init(tmp_path, HOST, [])
    before = files.server_key.read_bytes()
    with pytest.raises(TlsError, match="already exist"):
        init(tmp_path, HOST, [])
    assert files.server_key.read_bytes() == before


def test_the_command_says_which_keys_to_set_and_how_phones_trust_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    assert main(["tls", "init", "--host", HOST, "--ip", "127.0.0.1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f'tls_cert = "{(out / "server.pem").resolve()}"' in text
    assert f'tls_key = "{(out / "server.key").resolve()}"' in text
    assert "iOS" in text and "Certificate Trust Settings" in text
    assert "Android" in text and "CA certificate" in text
    assert f"https://{HOST}:" in text

    assert main(["tls", "init", "--host", "not a name", "--out", str(tmp_path / "x")]) == 2
    assert "not a host name" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# The server over TLS ---------------------------------------------------------------------------


async def test_the_server_speaks_https_and_wss_with_secure_cookies_and_hsts(
    sqlite_url: str, tmp_path: Path
) -> None:
    overrides = tls_settings(tmp_path)
    authority = tmp_path / "tls" / "dispatch-ca.pem"
    async with running(sqlite_url, **overrides) as server:
        username = await server.add_user(Role.OFFICER)
        base = f"https://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, verify=client_context(authority)) as http:
            health = await http.get("/healthz")
            assert health.json() == {"ok": True}
            assert health.headers["strict-transport-security"] == "max-age=31536000"
            signed = await http.post(
                "/api/session", json={"username": username, "password": "correct horse battery"}
            )
        assert signed.status_code == 200, signed.text
        assert re.search(r";\s*Secure", signed.headers["set-cookie"]), signed.headers["set-cookie"]
        token = signed.json()["token"]
        async with connect(
            f"wss://127.0.0.1:{server.port}/ws",
            ssl=client_context(authority),
            additional_headers={"Authorization": f"Bearer {token}"},
        ) as ws:
            await ws.send(json.dumps({"type": "sync", "id": "1", "last_seq": None}))
            assert json.loads(await ws.recv())["type"] == "snapshot"
        async with httpx.AsyncClient() as http:  # plain http to the TLS port: no answer
            with pytest.raises(httpx.HTTPError):
                await http.get(f"http://127.0.0.1:{server.port}/healthz")


async def test_plain_http_sets_no_secure_cookie_and_no_hsts(server: RunningServer) -> None:
    username = await server.add_user(Role.OFFICER)
    async with httpx.AsyncClient(base_url=server.base) as http:
        signed = await http.post(
            "/api/session", json={"username": username, "password": "correct horse battery"}
        )
    assert signed.status_code == 200
    assert "secure" not in signed.headers["set-cookie"].lower()
    assert "strict-transport-security" not in signed.headers


# Behind a reverse proxy -------------------------------------------------------------------------

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


async def test_forwarded_headers_are_believed_from_a_trusted_proxy(sqlite_url: str) -> None:
    async with running(sqlite_url, **{"server.trusted_proxies": "127.0.0.1"}) as server:
        username = await server.add_user(Role.OFFICER)
        body = {"username": username, "password": "correct horse battery"}
        origin = {"Origin": f"https://127.0.0.1:{server.port}"}  # the page, served over https
        async with httpx.AsyncClient(base_url=server.base, headers=FORWARDED) as http:
            signed = await http.post("/api/session", json=body, headers=origin)
            metrics = await http.get("/metrics")  # the real client is not in metrics.allow
        assert signed.status_code == 200, signed.text
        assert re.search(r";\s*Secure", signed.headers["set-cookie"])
        assert "strict-transport-security" in signed.headers
        assert metrics.status_code == 403


async def test_forwarded_headers_from_anyone_else_are_ignored(server: RunningServer) -> None:
    username = await server.add_user(Role.OFFICER)
    body = {"username": username, "password": "correct horse battery"}
    async with httpx.AsyncClient(base_url=server.base, headers=FORWARDED) as http:
        signed = await http.post("/api/session", json=body)
        metrics = await http.get("/metrics")  # 127.0.0.1 cannot pass itself off as another
        refused = await http.post(
            "/api/session", json=body, headers={"Origin": f"https://127.0.0.1:{server.port}"}
        )
    assert signed.status_code == 200
    assert "secure" not in signed.headers["set-cookie"].lower()
    assert "strict-transport-security" not in signed.headers
    assert metrics.status_code == 200
    assert refused.status_code == 403 and refused.json()["code"] == "origin_refused"


# Settings ---------------------------------------------------------------------------------------


def test_tls_and_proxy_settings_are_checked_naming_the_key(tmp_path: Path) -> None:
    env = {
        "DISPATCH_SERVER_TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16",
        "DISPATCH_SERVER_ALLOWED_ORIGINS": "https://dispatch.example.org",
    }
    settings = load_settings(env=env, overrides={"database.url": "sqlite+aiosqlite://"})
    assert settings.server.trusted_proxies == ["10.0.0.1", "10.1.0.0/16"]
    assert settings.server.allowed_origins == ["https://dispatch.example.org"]
    assert settings.server.tls_cert == "" and settings.server.api_docs is False

    bad = [
        ({"DISPATCH_SERVER_TLS_CERT": "server.pem"}, "server: .*tls_key"),
        ({"DISPATCH_SERVER_TRUSTED_PROXIES": "proxy.lan"}, "server.trusted_proxies"),
        ({"DISPATCH_SERVER_ALLOWED_ORIGINS": "https://x.example/path"}, "server.allowed_origins"),
    ]
    for bad_env, message in bad:
        with pytest.raises(ConfigError, match=message):
            load_settings(env=bad_env)

    missing = load_settings(
        env={},
        overrides={"server.tls_cert": str(tmp_path / "no.pem"), "server.tls_key": "no.key"},
    )
    with pytest.raises(ConfigError, match=r"server\.tls_cert: no such file"):
        uvicorn_config(None, missing)  # type: ignore[arg-type]
    (tmp_path / "junk.pem").write_text("not a certificate")
    junk = load_settings(
        env={},
        overrides={
            "server.tls_cert": str(tmp_path / "junk.pem"),
            "server.tls_key": str(tmp_path / "junk.pem"),
        },
    )
    with pytest.raises(ConfigError, match="not a certificate and its key"):
        uvicorn_config(None, junk)  # type: ignore[arg-type]


# What is open without sign-in -------------------------------------------------------------------

OPEN_PAGES = ("/", "/officer", "/crew", "/console", "/officer-sw.js")
ELSEWHERE = re.compile(
    r"""(src|href)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?(https?:)?//|@import"""
)


async def test_api_docs_are_off_and_open_pages_load_nothing_from_elsewhere(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            assert (await http.get(path)).status_code == 404, path
        assert (await http.get("/")).json()["api_docs"] == "off (server.api_docs)"
        for path in OPEN_PAGES:
            page = await http.get(path)
            assert page.status_code == 200, path
            assert not ELSEWHERE.search(page.text), (path, ELSEWHERE.search(page.text))


async def test_api_docs_on_by_config(sqlite_url: str) -> None:
    async with running(sqlite_url, **{"server.api_docs": True}) as server:
        async with httpx.AsyncClient(base_url=server.base) as http:
            assert (await http.get("/docs")).status_code == 200
            assert (await http.get("/openapi.json")).json()["info"]["title"] == "dispatch"
