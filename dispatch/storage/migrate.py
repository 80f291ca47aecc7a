"""The database schema's version: Alembic revisions (dispatch/storage/migrations/), and
what start-up and `dispatch db ...` do with them.

Every function here takes a sync `Connection` in a transaction (the async engine's
`run_sync` gives one) and leaves committing to its caller.

- A fresh (empty) database is made at the code's head at once: the models' tables
  (`create_all`, which tests/storage/test_migrations.py proves equal to the revisions'
  schema) and the head's stamp.
- A database made before revisions existed (tables, no `alembic_version`) whose tables
  are the baseline's is stamped with the baseline, then upgraded.
- Anything else behind the head is upgraded only by `dispatch db upgrade`: start-up
  refuses it with a sentence naming that command.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, select, text

from dispatch.storage import models
from dispatch.storage.all_models import metadata

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"  # the schema of the last release without revisions
UPGRADE_COMMAND = "dispatch db upgrade"
VERSION_TABLE = "alembic_version"
_PG_LOCK = 0x6469_7370_6174_6368  # "dispatch": one process at a time prepares the schema


class SchemaError(Exception):
    """The database's schema is not one this code can run on as it stands."""

    def __init__(self, template: str) -> None:
        self.template = template
        super().__init__(self.sentence())

    def sentence(self, command: str = UPGRADE_COMMAND) -> str:
        """The explanation, naming `command` as the one that upgrades."""
        return self.template.format(command=command)


@dataclass(frozen=True)
class State:
    """Where a database's schema stands against the code's."""

    revision: str | None  # its stamp (None: no `alembic_version`)
    head: str  # the code's newest revision
    empty: bool  # no tables at all
    known: bool  # its stamp is one of the code's revisions (or it has none)

    @property
    def current(self) -> bool:
        return self.revision == self.head

    @property
    def unversioned(self) -> bool:
        """Made before revisions existed: tables but no stamp."""
        return not self.empty and self.revision is None

    def problem(self) -> SchemaError | None:
        """Why the server cannot start on it (None: it can; an empty one is made)."""
        if self.empty or self.current:
            return None
        if self.unversioned:
            return SchemaError(
                "This database was made by an earlier release of dispatch (its schema has "
                f"no revision); this release needs revision {self.head}. Stop every server "
                "on it, back it up, run `{command}`, then start again."
            )
        if not self.known:
            return SchemaError(
                f"This database's schema is at revision {self.revision}, which this release "
                "does not know (a newer release upgraded it?): run that release, or restore "
                "a backup made before the upgrade."
            )
        return SchemaError(
            f"This database's schema is at revision {self.revision} and this release needs "
            f"{self.head}. Stop every server on it, back it up, run `{{command}}`, then "
            "start again."
        )

    def describe(self) -> str:
        """`dispatch db current`'s lines."""
        if self.empty:
            where = "none (an empty database: made at the head on first start or upgrade)"
        elif self.revision is None:
            where = "none (made by an earlier release: `dispatch db upgrade` stamps it)"
        else:
            where = self.revision
        if self.empty or self.current:
            verdict = "up to date"
        elif self.known:
            verdict = "behind the code: run `dispatch db upgrade`"
        else:
            verdict = "unknown to this release (a newer release upgraded it?)"
        return f"database: {where}\ncode:     {self.head} (head)\n{verdict}"


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, made in code (there is no alembic.ini)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    found = scripts().get_current_head()
    if found is None:
        raise RuntimeError("dispatch/storage/migrations/versions has no revision")
    return found


def state(conn: Connection) -> State:
    tables = set(inspect(conn).get_table_names())
    revision = None
    if VERSION_TABLE in tables:  # read as it is (Alembic's context logs at every start)
        stamps = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        revision = ",".join(sorted(stamps)) or None  # several: branches, none known here
    known = revision is None or revision in {s.revision for s in scripts().walk_revisions()}
    return State(revision, head(), empty=not tables - {VERSION_TABLE}, known=known)


def prepare(conn: Connection) -> State:
    """At start: make an empty database at the head; refuse one that is not at it."""
    _lock(conn)
    found = state(conn)
    problem = found.problem()
    if problem is not None:
        raise problem
    if found.empty:
        _create_at_head(conn)
    _seed(conn)
    return found


def upgrade(conn: Connection) -> State:
    """`dispatch db upgrade`: bring the database to the head (stamping a database of
    the last release without revisions first). Returns where it stood before."""
    _lock(conn)
    found = state(conn)
    if found.empty:
        _create_at_head(conn)
    elif not found.known:
        problem = found.problem()
        assert problem is not None
        raise problem
    elif not found.current:
        if found.unversioned:
            differences = baseline_differences(conn)
            if differences:
                raise SchemaError(
                    "This database has no schema revision and its tables are not those of "
                    f"the last release without revisions ({'; '.join(differences[:6])}): "
                    "start that release on it once (it adds what an older one lacked), "
                    "then run `{command}` again."
                )
            command.stamp(config(conn), BASELINE)
        command.upgrade(config(conn), "head")
    _seed(conn)
    return found


def baseline_differences(conn: Connection) -> list[str]:
    """How the database's tables differ from the baseline's (names of tables and
    columns; tables the baseline does not have are not its business)."""
    baseline: dict[str, set[str]] = {}
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as made:
            command.upgrade(config(made), BASELINE)
            seen = inspect(made)
            for table in seen.get_table_names():
                if table != VERSION_TABLE:
                    baseline[table] = {c["name"] for c in seen.get_columns(table)}
    finally:
        scratch.dispose()
    ours = inspect(conn)
    present = set(ours.get_table_names())
    differences = []
    for table, columns in sorted(baseline.items()):
        if table not in present:
            differences.append(f"no table {table}")
            continue
        have = {c["name"] for c in ours.get_columns(table)}
        differences += [f"{table} lacks {c}" for c in sorted(columns - have)]
        differences += [f"{table} has {c}, which it did not" for c in sorted(have - columns)]
    return differences


def _create_at_head(conn: Connection) -> None:
    metadata().create_all(conn)
    MigrationContext.configure(conn).stamp(scripts(), "head")


def _seed(conn: Connection) -> None:
    """The event counter every change numbers from."""
    counter = models.Counter.__table__  # type: ignore[attr-defined]
    found = conn.execute(select(counter.c.name).where(counter.c.name == models.EVENT_SEQ))
    if found.first() is None:
        conn.execute(counter.insert().values(name=models.EVENT_SEQ, value=0))


def _lock(conn: Connection) -> None:
    """PostgreSQL: processes starting together prepare the schema one after another."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
