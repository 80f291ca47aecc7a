"""The `dispatch` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import secrets
import signal
import sys
from pathlib import Path

from dispatch.audit import commands as audit_commands
from dispatch.config import ConfigError, Settings, load_settings
from dispatch.maps import commands as maps_commands
from dispatch.people import PeopleError, add_crew, add_user, is_empty, names_by_id
from dispatch.storage import commands as db_commands
from dispatch.storage.db import Database
from dispatch.storage.migrate import UPGRADE_COMMAND, SchemaError
from dispatch.usecases.context import UseCaseError, utc_now
from schemas.common import CrewMode, Role

DEFAULT_CLUSTER_DB = "postgresql+asyncpg://postgres@127.0.0.1:5432/dispatch"
DEFAULT_CLUSTER_HUB = "redis://127.0.0.1:6379/0"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dispatch", description=__doc__ or "dispatch server")
    p.add_argument("--config", type=Path, help="config file (default: ./config.toml)")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--demo", action="store_true", help="load demo data if the database is empty"
    )
    cluster = sub.add_parser(
        "cluster", help="run several server processes behind HAProxy (PostgreSQL and Redis)"
    )
    cluster.add_argument("--processes", type=int, default=2)
    cluster.add_argument("--port", type=int, default=8000, help="the balancer's port")
    cluster.add_argument(
        "--database-url",
        default=os.environ.get("DISPATCH_CLUSTER_DATABASE_URL", DEFAULT_CLUSTER_DB),
        help="PostgreSQL (asyncpg) URL; the database is created if missing",
    )
    cluster.add_argument(
        "--pubsub-url", default=os.environ.get("DISPATCH_CLUSTER_PUBSUB_URL", DEFAULT_CLUSTER_HUB)
    )
    cluster.add_argument(
        "--workdir", type=Path, default=Path(".cluster"), help="logs and the HAProxy config"
    )
    sub.add_parser("demo", help="load demo data into an empty database, print sign-ins once")
    user = sub.add_parser("user", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", help="add an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--crew", help="the crew's callsign (crew members)")
    add.add_argument("--name", help="display name")
    add.add_argument("--cancel-pin", help="officers: 4-digit PIN that cancels her alert")
    add.add_argument("--duress-pin", help="officers: 4-digit PIN that looks like a cancel")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    crew = sub.add_parser("crew", help="manage crews").add_subparsers(dest="action", required=True)
    cadd = crew.add_parser("add", help="add a crew")
    cadd.add_argument("callsign")
    cadd.add_argument("--mode", required=True, choices=[m.value for m in CrewMode])
    plan = sub.add_parser("plan", help="print an operation's plan and its figures")
    plan.add_argument("operation", help="the operation's name or id")
    plan.add_argument(
        "--generate", action="store_true", help="generate a new plan first (drafts only)"
    )
    plan.add_argument("--ics", type=Path, help="also write the plan as iCalendar to this file")
    plan.add_argument("--geojson", type=Path, help="also write the places as GeoJSON to this file")
    schema = sub.add_parser("schema", help="write the JSON Schema of the protocol")
    schema.add_argument("--out", type=Path, help="file to write (default: standard output)")
    audit_commands.add_parsers(sub)
    maps_commands.add_parsers(sub)
    db_commands.add_parsers(sub)
    tls = sub.add_parser("tls", help="https on a LAN").add_subparsers(dest="action", required=True)
    tls_init = tls.add_parser("init", help="make a local authority and a server certificate")
    tls_init.add_argument("--host", required=True, help="the name phones open, e.g. dispatch.lan")
    tls_init.add_argument("--ip", action="append", default=[], help="also this address (repeat)")
    tls_init.add_argument("--out", type=Path, default=Path("tls"), help="folder (default: tls)")
    return p


def _tls_init(settings: Settings, args: argparse.Namespace) -> int:
    from dispatch.tls import TlsError, init, instructions, parse_host

    try:
        files = init(args.out, args.host, args.ip)
    except (TlsError, OSError) as exc:
        print(f"dispatch: {exc}", file=sys.stderr)
        return 2
    print(instructions(files, parse_host(args.host), args.ip, settings.server.port), end="")
    return 0


async def _with_db(settings: Settings) -> Database:
    db = Database(settings.database.url)
    await db.create_tables()
    return db


async def _check_schema(settings: Settings) -> None:
    """Before serving: an empty database is made at the code's schema; one behind it
    stops the start with a sentence naming `dispatch db upgrade` (SchemaError)."""
    db = await _with_db(settings)
    await db.close()


def _upgrade_command(args: argparse.Namespace) -> str:
    """`dispatch db upgrade` as this invocation would run it on the same database."""
    if args.command == "cluster":
        return f"DISPATCH_DATABASE_URL='{args.database_url}' {UPGRADE_COMMAND}"
    if args.config:
        return UPGRADE_COMMAND.replace(" db ", f" --config {args.config} db ")
    return UPGRADE_COMMAND


async def _demo(settings: Settings, *, only_if_empty: bool) -> None:
    from dispatch.demo import load_demo
    from dispatch.demo_operation import load_demo_operation

    db = await _with_db(settings)
    try:
        if not await is_empty(db):
            if not only_if_empty:
                raise PeopleError(
                    "the database already has accounts: demo data goes in an empty one"
                )
            print(
                "Database has accounts already: demo data not loaded (sign-ins were printed once)."
            )
            return
        logins = await load_demo(db, utc_now())
        plan = await load_demo_operation(db, settings, utc_now())
    finally:
        await db.close()
    print("Demo data loaded. Sign-ins (shown only this once):")
    for username, password, what in logins:
        print(f"  {username:<12} {password:<14} {what}")
    figures = plan.operation.figures
    print(
        f"Demo operation {plan.operation.name!r}: {len(plan.deployments)} deployments published "
        f"over four weeks (see `dispatch plan {plan.operation.name!r}`)."
    )
    if figures is not None:
        print(
            f"  M2 entropy {figures.m2_entropy_ratio:.2f}, "
            f"M3 predictability {figures.m3_predictability:.2f}"
        )


async def _user_add(settings: Settings, args: argparse.Namespace) -> None:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password (empty for a random one): ")
    else:
        password = ""
    generated = not password
    password = password or secrets.token_urlsafe(12)
    db = await _with_db(settings)
    try:
        user = await add_user(
            db,
            username=args.username,
            password=password,
            role=Role(args.role),
            now=utc_now(),
            display_name=args.name,
            crew_callsign=args.crew,
            cancel_pin=args.cancel_pin,
            duress_pin=args.duress_pin,
        )
    finally:
        await db.close()
    print(f"Added {user.role} {user.username}.")
    if generated:
        print(f"Password (shown only this once): {password}")


async def _crew_add(settings: Settings, args: argparse.Namespace) -> None:
    db = await _with_db(settings)
    try:
        crew = await add_crew(db, callsign=args.callsign, mode=CrewMode(args.mode), now=utc_now())
    finally:
        await db.close()
    print(f"Added crew {crew.callsign} ({crew.mode}).")


async def _plan(settings: Settings, args: argparse.Namespace) -> None:
    from dispatch.plan_files import places_geojson, plan_ics
    from dispatch.plan_text import format_plan
    from dispatch.realtime.hub import make_hub
    from dispatch.usecases.dispatcher import Dispatcher
    from dispatch.usecases.planner_pool import PlannerPool
    from dispatch.usecases.plans import PlanCases

    db = await _with_db(settings)
    planner = PlannerPool()
    dispatcher = Dispatcher.build(db=db, hub=make_hub("memory://"), settings=settings)
    plans = PlanCases(dispatcher, planner)
    try:
        view = await (plans.generate if args.generate else plans.plan)(args.operation)
        names = await names_by_id(db)
    finally:
        planner.close()
        await db.close()
    print(format_plan(view, names))
    if args.ics:
        args.ics.write_bytes(plan_ics(view, utc_now(), names))
        print(f"Wrote {args.ics}")
    if args.geojson:
        args.geojson.write_text(json.dumps(places_geojson(view.operation), indent=1) + "\n")
        print(f"Wrote {args.geojson}")


async def _ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database the URL names, if it does not exist."""
    import asyncpg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if not target.drivername.startswith("postgresql"):
        raise ConfigError("dispatch cluster: --database-url must be a PostgreSQL URL")
    admin = target.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", target.database
        )
        if not exists:
            await conn.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await conn.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _cluster(settings: Settings, args: argparse.Namespace) -> int:
    from dispatch.launcher import Cluster

    if args.processes < 1:
        raise ConfigError("dispatch cluster: --processes must be 1 or more")
    asyncio.run(_ensure_postgres_database(args.database_url))
    shared = settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": args.database_url})}
    )
    asyncio.run(_demo(shared, only_if_empty=True))  # once, before any process starts
    signal.signal(signal.SIGTERM, _interrupt)  # stop the processes on a plain kill too
    cluster = Cluster(
        processes=args.processes,
        port=args.port,
        database_url=args.database_url,
        pubsub_url=args.pubsub_url,
        workdir=args.workdir,
    )
    try:
        cluster.start()
        base = cluster.base
        print(f"dispatch cluster: {args.processes} processes behind HAProxy on {base}")
        for i, node in enumerate(cluster.nodes, 1):
            print(f"  process {i}: {node.base} (log {node.log})")
        print(f"  console:    {base}/console (supervisors)")
        print(f"  officer:    {base}/officer")
        print(f"  crew:       {base}/crew")
        print(f"  public:     {base}/report")
        print(f"  websocket:  ws://{cluster.host}:{args.port}/ws")
        print(f"  health:     {base}/healthz, {base}/readyz")
        print("  metrics:    each process's own /metrics (not through the balancer)")
        print("Ctrl-C stops them all.")
        sys.stdout.flush()
        return cluster.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from dispatch.app import create_app
    from dispatch.logs import configure as configure_logging
    from dispatch.server import uvicorn_config

    overrides = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    settings = settings.model_copy(update={"server": settings.server.model_copy(update=overrides)})
    if args.demo:
        asyncio.run(_demo(settings, only_if_empty=True))
    else:
        asyncio.run(_check_schema(settings))
    scheme = "https" if settings.server.tls_cert else "http"
    base = f"{scheme}://{settings.server.host}:{settings.server.port}"
    print(f"dispatch serving on {base}")
    print(f"  console:    {base}/console (supervisors)")
    print(f"  officer:    {base}/officer")
    print(f"  crew:       {base}/crew")
    print(f"  public:     {base}/report (the public's reports of harassment, no account)")
    print(f"  operations: {base}/api/operations (supervisors)")
    print(f"  sign in:    POST {base}/api/session")
    print(f"  websocket:  {base.replace('http', 'ws', 1)}/ws")
    if settings.server.api_docs:
        print(f"  API docs:   {base}/docs")
    print(f"  health:     {base}/healthz")
    # A thread waiting for the interpreter (a password check, a checkpoint) gets it
    # within a millisecond, not five: the event loop never waits long behind one.
    sys.setswitchinterval(0.001)
    print(f"  metrics:    {base}/metrics (from {', '.join(settings.metrics.allow)})")
    sys.stdout.flush()
    configure_logging(settings.logging)
    app = create_app(settings, tune_gc=True)
    uvicorn.Server(uvicorn_config(app, settings, log_config=None)).run()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        if args.command == "serve":
            _serve(settings, args)
        elif args.command == "cluster":
            return _cluster(settings, args)
        elif args.command == "demo":
            asyncio.run(_demo(settings, only_if_empty=False))
        elif args.command == "user":
            asyncio.run(_user_add(settings, args))
        elif args.command == "crew":
            asyncio.run(_crew_add(settings, args))
        elif args.command == "plan":
            asyncio.run(_plan(settings, args))
        elif args.command == "tls":
            return _tls_init(settings, args)
        elif args.command in ("audit", "purge"):
            return audit_commands.run(settings, args)
        elif args.command in maps_commands.COMMANDS:
            return maps_commands.run(settings, args)
        elif args.command in db_commands.COMMANDS:
            return db_commands.run(settings, args)
        elif args.command == "schema":
            from schemas.jsonschema import protocol_schema

            text = json.dumps(protocol_schema(), indent=2) + "\n"
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(text, encoding="utf-8")
                print(f"Wrote {args.out}")
            else:
                sys.stdout.write(text)
    except UseCaseError as exc:
        print(f"dispatch: {exc.message}", file=sys.stderr)
        return 2
    except (ConfigError, PeopleError) as exc:
        print(f"dispatch: {exc}", file=sys.stderr)
        return 2
    except SchemaError as exc:
        print(f"dispatch: {exc.sentence(_upgrade_command(args))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
