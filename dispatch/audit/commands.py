"""`dispatch audit verify` and `dispatch purge` (the CLI's parts for the audit trail)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from dispatch.audit.job import keep_of, purge, verify
from dispatch.config import Settings
from dispatch.storage.db import Database


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="action", required=True
    )
    check = audit.add_parser(
        "verify", help="walk the hash chain: name the first bad row, or print the head hash"
    )
    check.add_argument("--expect", help="a head hash noted earlier: it must still be in the chain")
    wipe = sub.add_parser("purge", help="erase what is past its time ([retention])")
    wipe.add_argument("--dry-run", action="store_true", help="show what would go; change nothing")


def run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_run(settings, args))


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database.url)
    try:
        await db.create_tables()
        if args.command == "audit":
            verdict = await verify(db, args.expect)
            print(verdict.sentence(), file=sys.stdout if verdict.ok else sys.stderr)
            return 0 if verdict.ok else 1
        result = await purge(
            db, keep_of(settings.retention), datetime.now(UTC), dry_run=args.dry_run
        )
        for line in result.lines():
            print(line)
        return 0
    finally:
        await db.close()
