"""The app factory: settings in, FastAPI app out. Services start in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from dispatch.app_deps import (
    CurrentViewer,
    ServicesDep,
    SignInThrottle,
    request_source,
    request_token,
)
from dispatch.audit.access import signing_out
from dispatch.auth.second_factor_api import router as second_factor_router
from dispatch.auth.second_factor_api import second_step_answer, signed_in
from dispatch.auth.sessions import COOKIE_NAME, AuthError, SecondStep, sign_in, sign_out, token_hash
from dispatch.config import Settings
from dispatch.maps.router import install_maps
from dispatch.pages.router import install_pages
from dispatch.public_reports.router import install_public_reports
from dispatch.request_guard import RequestGuard
from dispatch.services import Services
from dispatch.socket_api.endpoint import websocket_endpoint
from dispatch.usecases.context import Clock, UseCaseError, utc_now
from ops_console.api import router as console_router
from ops_console.audit_api import router as audit_router
from ops_console.incidents import router as incidents_router
from ops_console.operations import router as operations_router
from ops_console.pages import install_console
from ops_console.people_api import router as people_router
from ops_console.public_reports import router as public_reports_router
from ops_console.reports import router as reports_router
from schemas.api import Me, SessionInfo, SignIn
from schemas.errors import ErrorCode

REFUSAL_STATUS = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.INVALID: 422,
    ErrorCode.BAD_JSON: 400,
}
AUTH_STATUS: dict[str, int] = {ErrorCode.AUTH_LOCKED: 423, ErrorCode.RATE_LIMITED: 429}


def validation_sentence(error: Mapping[str, Any]) -> str:
    """Pydantic's first complaint as a sentence a supervisor can act on: the field, then
    what is wrong with it (its own words for a rule of ours, plain words for a pattern)."""
    where = ".".join(str(p) for p in error.get("loc", ())[1:])
    kind, message = error.get("type", ""), str(error.get("msg", "is not valid"))
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        message = "must not be empty"
    elif kind == "string_pattern_mismatch":
        message = "has characters that are not allowed here"
    return f"{where}: {message}" if where else message


def create_app(settings: Settings, *, clock: Clock = utc_now, tune_gc: bool = False) -> FastAPI:
    """`tune_gc`: freeze what start-up made out of the collector (a server process of its
    own, not a test that starts many servers in one process)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.build(settings, clock, tune_gc=tune_gc)
        await services.start()
        app.state.services = services
        try:
            yield
        finally:
            await services.stop()

    docs = settings.server.api_docs  # off: their pages load scripts from public CDNs
    app = FastAPI(
        title="dispatch",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.add_middleware(RequestGuard, server=settings.server)
    app.add_api_websocket_route("/ws", websocket_endpoint)
    install_maps(app, settings)
    install_pages(app, settings.pages)
    install_public_reports(app, settings)
    install_console(app, settings.pages)
    app.include_router(console_router)
    app.include_router(operations_router)
    app.include_router(second_factor_router)
    app.include_router(public_reports_router)
    for router in (incidents_router, reports_router, people_router, audit_router):
        app.include_router(router)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.detail, dict):
            return JSONResponse(exc.detail, status_code=exc.status_code)
        code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.INVALID
        return JSONResponse({"code": code, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(AuthError)
    async def _auth_error(_: Request, exc: AuthError) -> JSONResponse:
        status = AUTH_STATUS.get(exc.code, 401)
        if exc.retry_after_s is None:
            return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status)
        body = {"code": exc.code, "message": exc.message, "retry_after_s": exc.retry_after_s}
        headers = {"Retry-After": str(exc.retry_after_s)}
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(UseCaseError)
    async def _refused(_: Request, exc: UseCaseError) -> JSONResponse:
        status = REFUSAL_STATUS.get(exc.code, 409)
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid body"}
        return JSONResponse(
            {"code": ErrorCode.INVALID, "message": validation_sentence(first)}, status_code=422
        )

    @app.get("/")
    async def index() -> dict[str, object]:
        return {
            "service": "dispatch",
            "sign_in": "POST /api/session",
            "websocket": "/ws (Authorization: Bearer <token>, or the session cookie)",
            "protocol": "docs/protocol.md",
            "api_docs": "/docs" if docs else "off (server.api_docs)",
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        """The process is alive (nothing else: counts are in /metrics, for its addresses)."""
        return {"ok": True}

    @app.get("/readyz")
    async def readyz(s: ServicesDep) -> JSONResponse:
        """Ready for phones: started, the database and the hub answer. The balancer
        sends phones only to a ready process."""
        problem = await s.unready()
        if problem is None:
            return JSONResponse({"ready": True})
        return JSONResponse(
            {"ready": False, "code": ErrorCode.UNAVAILABLE, "message": problem}, status_code=503
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request, s: ServicesDep) -> Response:
        """Prometheus metrics, for the addresses in `metrics.allow` only."""
        client = request.client.host if request.client else ""
        if client not in s.settings.metrics.allow:
            return JSONResponse(
                {"code": ErrorCode.FORBIDDEN, "message": "Metrics are not open to this address."},
                status_code=403,
            )
        return Response(s.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/api/session", response_model=SessionInfo)
    async def create_session(
        body: SignIn, request: Request, response: Response, s: ServicesDep, sources: SignInThrottle
    ) -> SessionInfo | JSONResponse:
        signed = await sign_in(
            s.db,
            s.settings.auth,
            username=body.username,
            password=body.password,
            now=s.dispatcher.clock(),
            source=request_source(request),
            sources=sources,
        )
        if isinstance(signed, SecondStep):  # a supervisor: her code comes next
            return second_step_answer(signed)
        token, viewer = signed
        await signed_in(s, response, token, viewer)
        return SessionInfo(
            token=token,
            expires_at=viewer.expires_at,
            user_id=viewer.user_id,
            username=viewer.username,
            role=viewer.role,
            crew_id=viewer.crew_id,
        )

    @app.get("/api/session", response_model=Me)
    async def whoami(viewer: CurrentViewer) -> Me:
        return Me(
            user_id=viewer.user_id,
            username=viewer.username,
            role=viewer.role,
            crew_id=viewer.crew_id,
            expires_at=viewer.expires_at,
        )

    @app.delete("/api/session", status_code=204)
    async def delete_session(request: Request, response: Response, s: ServicesDep) -> None:
        token = request_token(request)
        if token:
            await signing_out(s.db, token_hash(token), at=s.dispatcher.clock())
            await s.end_session(await sign_out(s.db, token))
        response.delete_cookie(COOKIE_NAME, path="/")

    return app
