"""The app's schema migrations: Alembic (Debian's python3-alembic), run by each server at start.

Every server of a new version runs `migrate` before it reports ready. One transaction does it all,
under a PostgreSQL advisory lock taken first (`pg_advisory_xact_lock`): the first server to start
(the canary) migrates; the others wait for the lock, then find the schema at their head and do
nothing. DDL in PostgreSQL is transactional: a failing migration rolls back with the version stamp
and the grants, so the schema stays as the previous version left it (and that version keeps serving).

Roles (docs/security.md, "Admin credentials stay off the serving process"):
  - the migration role (DATABASE_MIGRATION_USER, else the serving user) owns the `webapp` schema,
    its tables and the version table, and is the only one that runs DDL;
  - the serving role (DATABASE_USER) gets USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on
    its tables, nothing else: it cannot create, alter or drop, nor move the version stamp.
Where no cloud API makes the serving role (AWS: RDS makes only its master user), the migration
role makes it (`provision_serving_role`): created if missing, its password and attributes set,
its grants and default privileges given, on every run, so a fresh and an existing database converge.
A schema already at a revision this version does not know is a newer version's (expand/contract:
it keeps this one working): this version serves on it and migrates nothing.

Most starts find nothing to do (every server after a version's first): `migrate` first reads the
stamped revision with the driver alone and compares it with the revisions the migration files
declare (read as text, `declared_revisions`), so such a start never imports Alembic and SQLAlchemy
(a second or more of CPU on a server just booted). Anything else, or any doubt, takes the locked path.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = "webapp"
# Every server of every version takes this one lock (any constant bigint: the app's own number).
LOCK_KEY = 0x7765626170700001
# A migration waits this long for a table lock before it gives up (and retries later) rather than
# queue every request behind it: ALTER TABLE on a table the old version is writing waits for it.
LOCK_TIMEOUT = "5s"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class Outcome:
    """What `migrate` did: from which revision to which, and how long it took (lock wait included)."""

    before: str | None
    after: str | None
    head: str | None
    applied: bool
    seconds: float

    def describe(self) -> str:
        if self.applied:
            return f"migrated schema {SCHEMA} from {self.before or 'empty'} to {self.after} in {self.seconds * 1000:.0f} ms"
        if self.before != self.head:
            return f"schema {SCHEMA} at {self.before}, newer than this version's head {self.head}: serving on it, nothing to migrate"
        return f"schema {SCHEMA} at {self.head} (this version's head): nothing to migrate"


class MigrationError(Exception):
    """A migration step raised: the transaction rolled back. Carries the revision it aimed at."""

    def __init__(self, target: str | None, cause: BaseException):
        super().__init__(f"{type(cause).__name__} migrating to {target}")
        self.target = target
        self.cause = cause


def declared_revisions(migrations: Path = MIGRATIONS) -> tuple[frozenset[str], str | None]:
    """(every revision, the single head) the migration files declare, read without importing them or Alembic.

    The head is the revision no other one revises; None when that is not exactly one (a branch, a
    file this reader cannot follow): the caller then asks Alembic itself.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted((migrations / "versions").glob("*.py")):
        values: dict[str, Any] = {}
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and node.targets[0].id in ("revision", "down_revision"):
                try:
                    values[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    return frozenset(revisions), None
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            return frozenset(revisions), None
        revisions.add(revision)
        revised.update([down] if isinstance(down, str) else list(down or ()))
    heads = revisions - revised
    return frozenset(revisions), (next(iter(heads)) if len(heads) == 1 else None)


def stamped_revision(connect: Callable[[], Any]) -> str | None:
    """The revision the database is stamped with (None if none yet), read with the driver alone."""
    connection = connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.alembic_version",))
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(f"SELECT version_num FROM {SCHEMA}.alembic_version")
            rows = cursor.fetchall()
    finally:
        connection.close()
    return rows[0][0] if len(rows) == 1 else None


def serves_on(connect: Callable[[], Any], migrations: Path = MIGRATIONS) -> tuple[bool, str | None]:
    """(whether this version serves on the schema as it is, its stamped revision), read with the driver alone.

    For a server whose role may not migrate (another unit does, as the schema's owner): ready once
    the stamp is this version's head or a newer version's (one it does not know).
    """
    known, head = declared_revisions(migrations)
    current = stamped_revision(connect)
    if current is None:
        return False, None
    return (head is None or current == head or current not in known), current


def migrate(connect: Callable[[], Any], serving_user: str, migrations: Path = MIGRATIONS) -> Outcome:
    """Bring the schema to this version's head, once across the fleet; raises MigrationError, or the connection's error."""
    started = time.monotonic()
    known, head = declared_revisions(migrations)
    if head is not None:
        # Without the lock: a committed stamp only moves forward, and anything short of this
        # version's head (or a newer one) takes the locked path below, which reads it again.
        current = stamped_revision(connect)
        if current is not None and (current == head or current not in known):
            return Outcome(current, current, head, applied=False, seconds=time.monotonic() - started)
    return _migrate_locked(connect, serving_user, migrations)


def _migrate_locked(connect: Callable[[], Any], serving_user: str, migrations: Path) -> Outcome:
    """Alembic, under the fleet's advisory lock, in one transaction."""
    import sqlalchemy
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.pool import NullPool

    config = Config()
    config.set_main_option("script_location", str(migrations))
    script = ScriptDirectory.from_config(config)
    known = {revision.revision for revision in script.walk_revisions()}
    target = script.get_current_head()
    started = time.monotonic()
    engine = sqlalchemy.create_engine("postgresql+psycopg2://", creator=connect, poolclass=NullPool)
    try:
        with engine.connect() as connection, connection.begin():
            connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            connection.execute(sqlalchemy.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            before = _current_revision(connection, MigrationContext)
            if before is not None and before not in known:
                # A newer version migrated (expand only): serve on its schema, touch nothing.
                return Outcome(before, before, target, applied=False, seconds=time.monotonic() - started)
            if before == target:
                return Outcome(before, before, target, applied=False, seconds=time.monotonic() - started)
            try:
                connection.execute(sqlalchemy.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
                config.attributes.update(connection=connection, schema=SCHEMA)
                command.upgrade(config, "head")
                _grant_serving_role(connection, sqlalchemy, serving_user)
            except Exception as error:  # any failure rolls the whole transaction back; the caller reports it
                raise MigrationError(target, error) from error
            after = _current_revision(connection, MigrationContext)
    finally:
        engine.dispose()
    return Outcome(before, after, target, applied=True, seconds=time.monotonic() - started)


def _current_revision(connection: Any, migration_context: Any) -> str | None:
    """The stamped revision, or None on an empty database (no schema, no version table yet)."""
    import sqlalchemy

    exists = connection.execute(sqlalchemy.text("SELECT to_regclass(:table)"), {"table": f"{SCHEMA}.alembic_version"}).scalar()
    if exists is None:
        return None
    return migration_context.configure(connection, opts={"version_table_schema": SCHEMA}).get_current_revision()


def serving_grants(role: str) -> tuple[str, ...]:
    """Data, not structure: the serving role (``role``, quoted) reads and writes rows, and never stamps a version."""
    return (
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON {SCHEMA}.alembic_version FROM {role}",
    )


def _grant_serving_role(connection: Any, sqlalchemy: Any, serving_user: str) -> None:
    current = connection.execute(sqlalchemy.text("SELECT current_user")).scalar()
    if not serving_user or serving_user == current:
        return  # one role does both: it owns what it created
    for statement in serving_grants(connection.dialect.identifier_preparer.quote(serving_user)):
        connection.execute(sqlalchemy.text(statement))


class ServingRoleError(Exception):
    """The serving role may not be what it must be (the owner itself, or a role with powers the owner cannot take away)."""


def provision_serving_role(connect: Callable[[], Any], serving_user: str, serving_password: str) -> bool:
    """Make the serving role what serving needs and nothing more, as the schema's owner; True if it was created now.

    Idempotent, under the fleet's advisory lock, in one transaction: the role is created if missing
    (LOGIN; CREATE ROLE's defaults: no superuser, no CREATEDB, no CREATEROLE, no replication), else its
    password is set again and CREATEDB and CREATEROLE taken away; it leaves every role it was granted
    (rds_superuser among them); the schema is created if missing (owned by the caller), and the
    role gets USAGE and DML on it, on what is there now and, by default privileges, on what the
    owner creates later. The password reaches the server as a SCRAM verifier made here
    (libpq's PQencryptPasswordConn), never in clear text: a server logging statements logs no password.
    Raises ServingRoleError when the role is the caller or holds a power no owner may take away.
    """
    from psycopg2.extensions import encrypt_password, quote_ident

    connection = connect()
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            cursor.execute("SELECT current_user, current_database()")
            owner, database = cursor.fetchone()
            if serving_user == owner:
                raise ServingRoleError(f"the serving role may not be the schema's owner ({owner})")
            role = quote_ident(serving_user, cursor)
            verifier = encrypt_password(serving_password, serving_user, connection, "scram-sha-256")
            cursor.execute("SELECT rolsuper OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = %s", (serving_user,))
            found = cursor.fetchone()
            if found is None:
                cursor.execute(f"CREATE ROLE {role} LOGIN PASSWORD %s", (verifier,))
            elif found[0]:
                raise ServingRoleError(f"role {serving_user} is a superuser or may replicate or bypass row security: the owner cannot take that away; drop or alter it by hand")
            else:
                cursor.execute(f"ALTER ROLE {role} LOGIN NOCREATEDB NOCREATEROLE PASSWORD %s", (verifier,))
            cursor.execute("SELECT roleid::regrole::text FROM pg_auth_members WHERE member = %s::regrole", (serving_user,))
            for (granted,) in cursor.fetchall():
                cursor.execute(f"REVOKE {granted} FROM {role}")
            cursor.execute("SELECT count(*) FROM pg_auth_members WHERE member = %s::regrole", (serving_user,))
            if cursor.fetchone()[0]:
                raise ServingRoleError(f"role {serving_user} stays a member of a role another role granted: revoke it by hand")
            for statement in (
                f"GRANT CONNECT ON DATABASE {quote_ident(database, cursor)} TO {role}",
                # PostgreSQL before 15 lets every role create in `public`; no role of this app needs to.
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
                *(statement for statement in serving_grants(role) if "alembic_version" not in statement),
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
            ):
                cursor.execute(statement)
            cursor.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.alembic_version",))
            if cursor.fetchone()[0] is not None:
                cursor.execute(f"REVOKE INSERT, UPDATE, DELETE ON {SCHEMA}.alembic_version FROM {role}")
    finally:
        connection.close()
    return found is None
