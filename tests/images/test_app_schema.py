"""The app's schema migrations (images/webapp/schema.py, migrations/) against a real PostgreSQL.

What an immutable rollout needs of them: servers of the new version starting together migrate
once; the previous version keeps serving on the migrated schema (expand/contract, docs/state.md); a
migration that fails rolls back and fails the new servers' deep health check, so the gate stops
the rollout; the roles split on both clouds (the serving role may not run DDL; on AWS the migration makes it).
Each test gets a database of its own, so each starts from an empty schema.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import require_tools
from postgres import LocalPostgres, available, wait_for
from webapp_process import EXPAND_0002, MIGRATIONS, SYSTEM_PYTHON, RunningApp, get, has_system_modules, next_version_migrations

ROOT = Path(__file__).resolve().parents[2]
# The release before schema migrations: what still serves while the first migrating version rolls
# out. Move it to each release's commit as it ships (its app.py, schema.py and migrations).
PREVIOUS_RELEASE = "321bbfa"

pytestmark = require_tools(present={"postgresql": available(), "python3-psycopg2 python3-alembic python3-cryptography": has_system_modules("psycopg2", "alembic", "cryptography")})

_numbers = itertools.count()

# The same, slow (a big table's rewrite, say): servers starting within seconds of each other all overlap it.
SLOW_0002 = EXPAND_0002.replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    op.execute('SELECT pg_sleep(3)')\n")

# A next version's migration that fails half-way: its first steps must not survive.
BROKEN_0002 = EXPAND_0002.replace('"""Expand: ', '"""Broken on purpose (a column, a table, then a statement that fails); was: ', 1) + (
    '    op.create_table("visitors", sa.Column("id", sa.BigInteger, primary_key=True), schema="webapp")\n'
    '    op.execute("ALTER TABLE webapp.page_views ADD COLUMN owner_id bigint NOT NULL REFERENCES webapp.no_such_table (id)")\n'
)


@pytest.fixture(scope="module")
def postgres():
    with LocalPostgres() as server:
        yield server


@pytest.fixture
def database(postgres) -> str:
    """A new, empty database owned by the serving user (as on AWS, where the app's user is RDS's master)."""
    name = f"app{next(_numbers)}"
    postgres.sql(f"CREATE DATABASE {name} OWNER {postgres.user}")
    return name


def columns(postgres: LocalPostgres, database: str) -> str:
    return postgres.sql("SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name, column_name) FROM information_schema.columns WHERE table_schema = 'webapp'", database).strip()


def revision(postgres: LocalPostgres, database: str) -> str:
    return postgres.sql("SELECT version_num FROM webapp.alembic_version", database).strip()


def test_three_servers_starting_at_once_migrate_exactly_once(postgres, database, tmp_path):
    migrations = str(next_version_migrations(tmp_path, SLOW_0002))
    # Started together, with a 3 s migration: they all reach it while the first one runs, as a wave's droplets do.
    with ThreadPoolExecutor(max_workers=3) as pool:
        apps = list(pool.map(lambda _: RunningApp(postgres, ready=False, DATABASE_NAME=database, APP_MIGRATIONS=migrations), range(3)))
    try:
        assert all(wait_for(lambda app=app: get(app.url + "/readyz")[0] == 200, timeout=60) for app in apps)
        health = [get(app.url + "/healthz") for app in apps]
    finally:
        for app in apps:
            app.stop()
    assert all(status == 200 and body["schema"] == "0002" and body["migration"] == "ok" for status, body in health), health
    outputs = [app.output for app in apps]
    migrated = [output for output in outputs if "migrated schema webapp from empty to 0002" in output]
    assert len(migrated) == 1, outputs
    assert sum("at 0002 (this version's head): nothing to migrate" in output for output in outputs) == 2, outputs
    # ... and none lost a race (without the lock, two would collide: a failed, rolled-back migration). A
    # connection that timed out on a loaded machine ("not attempted", then a retry) is no collision.
    assert not any("schema migration failed" in output for output in outputs), outputs
    assert revision(postgres, database) == "0002"


def test_the_previous_release_serves_alongside_the_new_one_on_the_migrated_schema(postgres, database, tmp_path):
    """Expand/contract with the real previous release (its images/webapp from git): both serve, at once, after the migration."""
    # The whole app folder of that release (a later one carries its own modules and migrations).
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS_RELEASE, "images/webapp"], check=True, capture_output=True, timeout=60).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive, check=True, timeout=60)
    previous_app = tmp_path / "images" / "webapp" / "app.py"
    with RunningApp(postgres, DATABASE_NAME=database, APP_VERSION="1.5.0") as new, RunningApp(postgres, DATABASE_NAME=database, app_path=previous_app) as old:
        assert revision(postgres, database) == "0001"
        results: dict[str, list[tuple[int, dict]]] = {"old": [], "new": []}

        def hammer(name: str, url: str) -> None:
            for _ in range(40):
                results[name].append(get(url + "/"))
                results[name].append(get(url + "/healthz"))

        threads = [threading.Thread(target=hammer, args=(name, app.url)) for name, app in (("old", old), ("new", new))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert all(status == 200 for status, _ in results["old"] + results["new"]), [body for status, body in results["old"] + results["new"] if status != 200][:3]
    views = [body["views"] for _, body in results["new"] if "views" in body]
    assert views == sorted(views) and len(views) == 40 and views[0] >= 1, views


def test_the_previous_head_serves_on_a_schema_a_newer_version_expanded(postgres, database, tmp_path):
    """The rule, at the migrations' level: this version's head keeps serving after the next version's expand migration."""
    with RunningApp(postgres, DATABASE_NAME=database, APP_VERSION="1.5.0", APP_MIGRATIONS=str(next_version_migrations(tmp_path, EXPAND_0002))) as new:
        assert revision(postgres, database) == "0002"
        with RunningApp(postgres, DATABASE_NAME=database) as current:
            assert get(current.url + "/healthz")[0] == 200
            counts = [get(app.url + "/")[1]["views"] for app in (new, current, new, current)]
            current.stop()
    assert counts == sorted(counts) and None not in counts, counts
    assert "schema webapp at 0002, newer than this version's head 0001: serving on it" in current.output, current.output
    assert revision(postgres, database) == "0002", "the older version never moves the schema back"


def test_a_broken_migration_changes_nothing_and_fails_the_deep_health_check(postgres, database, tmp_path):
    with RunningApp(postgres, DATABASE_NAME=database) as old:
        get(old.url + "/")
        before = columns(postgres, database)
        with RunningApp(postgres, ready=False, DATABASE_NAME=database, APP_VERSION="1.5.0", APP_MIGRATIONS=str(next_version_migrations(tmp_path, BROKEN_0002))) as new:
            assert wait_for(lambda: get(new.url + "/healthz")[1].get("migration") == "failed", timeout=30), new.url
            status, body = get(new.url + "/healthz")
            ready = get(new.url + "/readyz")
            # The old fleet keeps serving, counting, on the unchanged schema.
            old_page = get(old.url + "/")
    assert status == 503 and body["status"] == "unhealthy" and body["error"] == "MigrationFailed", body
    assert body["reason"] == "ProgrammingError migrating to 0002" and body["database"] is True and body["schema"] is None, body
    assert ready[0] == 503 and ready[1]["status"] == "starting", ready
    assert old_page[0] == 200 and old_page[1]["views"] == 2, old_page
    assert revision(postgres, database) == "0001"
    assert columns(postgres, database) == before == "alembic_version.version_num,page_views.path,page_views.updated_at,page_views.views"
    assert "schema migration failed, rolled back" in new.output


def test_on_digitalocean_the_owner_runs_ddl_and_the_serving_role_only_reads_and_writes_rows(postgres, tmp_path):
    """DigitalOcean: doadmin owns the database; the app's user may not create in it (PostgreSQL 15+), nor should it."""
    name = f"app{next(_numbers)}"
    postgres.sql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'doadmin') THEN CREATE ROLE doadmin LOGIN PASSWORD 'admin-pass-123'; END IF; END $$")
    postgres.sql(f"CREATE DATABASE {name} OWNER doadmin")
    # Without the owner's credentials the serving role cannot migrate: unhealthy, with the reason.
    with RunningApp(postgres, ready=False, DATABASE_NAME=name) as app:
        assert wait_for(lambda: get(app.url + "/healthz")[1].get("migration") == "failed", timeout=30)
        status, body = get(app.url + "/healthz")
    assert status == 503 and body["reason"] == "ProgrammingError migrating to 0001", body
    owner = {"DATABASE_MIGRATION_USER": "doadmin", "DATABASE_MIGRATION_PASSWORD": "admin-pass-123"}
    with RunningApp(postgres, DATABASE_NAME=name, **owner) as app:
        assert get(app.url + "/healthz")[0] == 200
        assert get(app.url + "/")[1]["views"] == 1
    assert "admin-pass-123" not in app.output
    assert postgres.sql("SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'webapp'", name).strip() == "doadmin"

    def as_serving_role(statement: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["psql", f"host=127.0.0.1 port={postgres.port} dbname={name} user={postgres.user} password={postgres.password} sslmode=require", "-q", "-v", "ON_ERROR_STOP=1", "-tAc", statement],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert as_serving_role("UPDATE webapp.page_views SET views = views + 1 RETURNING views").stdout.strip() == "2"
    for statement in ("CREATE TABLE webapp.mine (id int)", "ALTER TABLE webapp.page_views ADD COLUMN x int", "UPDATE webapp.alembic_version SET version_num = 'x'", "CREATE SCHEMA other"):
        result = as_serving_role(statement)
        assert result.returncode != 0 and ("permission denied" in result.stderr or "must be owner" in result.stderr), (statement, result.stderr)


def system_python(snippet: str) -> dict:
    """Run ``snippet`` in Debian's python3 (the image's) with images/webapp importable; it prints one JSON document."""
    code = f"import json, sys\nsys.path.insert(0, {str(MIGRATIONS.parent)!r})\n{snippet}"
    result = subprocess.run([SYSTEM_PYTHON, "-I", "-c", code], capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


ALEMBICS_READING = """
import schema
from alembic.config import Config
from alembic.script import ScriptDirectory
readings = {{}}
for name, folder in {folders!r}.items():
    config = Config()
    config.set_main_option("script_location", folder)
    script = ScriptDirectory.from_config(config)
    known, head = schema.declared_revisions(schema.Path(folder))
    heads = script.get_heads()
    readings[name] = {{"ours": [sorted(known), head], "alembic": [sorted(r.revision for r in script.walk_revisions()), heads[0] if len(heads) == 1 else None]}}
print(json.dumps(readings))
"""


def test_the_revisions_read_from_the_files_are_alembics(tmp_path):
    """`declared_revisions` (text only, no Alembic) reads what Alembic reads: this version, the next, and a branch (no single head)."""
    branch = next_version_migrations(tmp_path / "branch", EXPAND_0002)
    (branch / "versions" / "0003_other.py").write_text(EXPAND_0002.replace('revision = "0002"', 'revision = "0003"'))
    folders = {"this": str(MIGRATIONS), "next": str(next_version_migrations(tmp_path / "next", EXPAND_0002)), "branch": str(branch)}
    readings = system_python(ALEMBICS_READING.format(folders=folders))
    assert all(reading["ours"] == reading["alembic"] for reading in readings.values()), readings
    assert readings["this"]["ours"] == [["0001"], "0001"] and readings["next"]["ours"] == [["0001", "0002"], "0002"], readings
    assert readings["branch"]["ours"] == [["0001", "0002", "0003"], None], readings


MIGRATE_TWICE = """
import psycopg2, schema
connect = lambda: psycopg2.connect(host="127.0.0.1", port={port}, dbname={database!r}, user={user!r}, password={password!r}, sslmode="require")
outcome = schema.migrate(connect, {user!r})
print(json.dumps({{"applied": outcome.applied, "after": outcome.after, "alembic": "alembic" in sys.modules, "sqlalchemy": "sqlalchemy" in sys.modules}}))
"""


def test_a_start_on_a_schema_at_its_head_reads_the_stamp_and_never_loads_alembic(postgres, database):
    """Every server after a version's first: one query with the driver, no Alembic or SQLAlchemy import (seconds of CPU on a fresh VM)."""
    snippet = MIGRATE_TWICE.format(port=postgres.port, database=database, user=postgres.user, password=postgres.password)
    first, second = system_python(snippet), system_python(snippet)
    assert first == {"applied": True, "after": "0001", "alembic": True, "sqlalchemy": True}, first
    assert second == {"applied": False, "after": "0001", "alembic": False, "sqlalchemy": False}, second


def as_role(postgres: LocalPostgres, database: str, user: str, password: str, statement: str) -> subprocess.CompletedProcess:
    """One statement over TCP as ``user`` (its password checked by SCRAM, as RDS does)."""
    return subprocess.run(
        ["psql", f"host=127.0.0.1 port={postgres.port} dbname={database} user={user} password={password} sslmode=require", "-q", "-v", "ON_ERROR_STOP=1", "-tAc", statement],
        capture_output=True,
        text=True,
        timeout=60,
    )


def rds_like_database(postgres: LocalPostgres) -> tuple[str, str, str]:
    """(database, master user, its password) as RDS makes them: the master may create roles and databases, is a member of
    rds_superuser (which grants nothing here) and owns the database; it is no superuser."""
    number = next(_numbers)
    name, master, password = f"app{number}", f"master{number}", f"master-pass-{number}-4e1d"
    postgres.sql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_superuser') THEN CREATE ROLE rds_superuser NOLOGIN; END IF; END $$")
    postgres.sql(f"CREATE ROLE {master} LOGIN CREATEROLE CREATEDB PASSWORD '{password}'")
    postgres.sql(f"GRANT rds_superuser TO {master} WITH ADMIN OPTION")
    postgres.sql(f"CREATE DATABASE {name} OWNER {master}")
    return name, master, password


DDL_AND_ADMIN = (
    "CREATE TABLE webapp.mine (id int)",
    "CREATE TABLE public.mine (id int)",
    "ALTER TABLE webapp.page_views ADD COLUMN x int",
    "DROP TABLE webapp.page_views",
    "UPDATE webapp.alembic_version SET version_num = 'x'",
    "CREATE SCHEMA other",
    "CREATE ROLE intruder LOGIN",
    "CREATE DATABASE other",
)


def assert_serves_with_dml_only(postgres: LocalPostgres, database: str, user: str, password: str) -> None:
    def run(statement: str) -> subprocess.CompletedProcess:
        return as_role(postgres, database, user, password, statement)

    for statement in (
        "INSERT INTO webapp.page_views (path, views) VALUES ('/probe', 1)",
        "UPDATE webapp.page_views SET views = views + 1 WHERE path = '/probe'",
        "SELECT views FROM webapp.page_views WHERE path = '/probe'",
        "DELETE FROM webapp.page_views WHERE path = '/probe'",
        "SELECT version_num FROM webapp.alembic_version",
    ):
        result = run(statement)
        assert result.returncode == 0, (statement, result.stderr)
    for statement in DDL_AND_ADMIN:
        result = run(statement)
        assert result.returncode != 0 and ("permission denied" in result.stderr or "must be owner" in result.stderr), (statement, result.stderr)
    attributes = postgres.sql(f"SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = '{user}'")
    assert attributes.strip() == "f|f|f|f|f|t", attributes
    assert postgres.sql(f"SELECT count(*) FROM pg_auth_members WHERE member = '{user}'::regrole").strip() == "0", "a member of another role (rds_superuser?)"


def test_on_aws_the_migration_makes_the_serving_role_on_a_fresh_database_with_dml_only(postgres, tmp_path):
    """RDS makes only its master user: webapp-migrate.service's `--migrate`, as the master, makes the serving role and migrates;
    the app serves as that role, which reads and writes rows and can do nothing else."""
    name, master, master_password = rds_like_database(postgres)
    serving, password = f"{name}_serving", "serving-pass-7a2c"
    owner = {"DATABASE_MIGRATION_USER": master, "DATABASE_MIGRATION_PASSWORD": master_password, "DATABASE_MIGRATION_MANAGES_USER": "true"}
    with RunningApp(postgres, DATABASE_NAME=name, DATABASE_USER=serving, DATABASE_PASSWORD=password, **owner) as app:
        assert app.migrate_exit == 0, app.output
        assert get(app.url + "/healthz")[0] == 200
        assert get(app.url + "/")[1]["views"] == 1
        assert app.migrate_again() == 0, app.output
        assert get(app.url + "/")[1]["views"] == 2, "a second run changed what the app may do"
    assert f"serving role {serving} created" in app.output and f"serving role {serving} updated" in app.output, app.output
    assert "migrated schema webapp from empty to 0001" in app.output and "at 0001 (this version's head): nothing to migrate" in app.output, app.output
    assert master_password not in app.output and password not in app.output
    assert postgres.sql("SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'webapp'", name).strip() == master
    assert_serves_with_dml_only(postgres, name, serving, password)
    # Default privileges: what the owner creates later is the serving role's to read and write, before any grant.
    as_role(postgres, name, master, master_password, "CREATE TABLE webapp.later (id int)")
    assert as_role(postgres, name, serving, password, "INSERT INTO webapp.later VALUES (1)").returncode == 0


def test_on_aws_an_existing_database_and_a_role_with_powers_converge_to_dml_only(postgres, tmp_path):
    """The database as the app left it while it served as the master user (schema at its head, owned by the master), and a
    serving role someone gave powers (CREATEROLE, rds_superuser) and another password: one run of the migration fixes all three."""
    name, master, master_password = rds_like_database(postgres)
    with RunningApp(postgres, DATABASE_NAME=name, DATABASE_USER=master, DATABASE_PASSWORD=master_password) as before:
        assert get(before.url + "/")[1]["views"] == 1
    serving, password = f"{name}_serving", "serving-pass-new-3b9f"
    postgres.sql(f"CREATE ROLE {serving} LOGIN CREATEROLE CREATEDB PASSWORD 'an-old-password'")
    postgres.sql(f"GRANT rds_superuser TO {serving} GRANTED BY {master}")
    owner = {"DATABASE_MIGRATION_USER": master, "DATABASE_MIGRATION_PASSWORD": master_password, "DATABASE_MIGRATION_MANAGES_USER": "true"}
    with RunningApp(postgres, DATABASE_NAME=name, DATABASE_USER=serving, DATABASE_PASSWORD=password, **owner) as app:
        assert app.migrate_exit == 0, app.output
        assert get(app.url + "/")[1]["views"] == 2, "the existing rows are the serving role's to count on"
        assert app.migrate_again() == 0, app.output
    assert f"serving role {serving} updated" in app.output and "created" not in app.output, app.output
    assert_serves_with_dml_only(postgres, name, serving, password)
    assert as_role(postgres, name, serving, "an-old-password", "SELECT 1").returncode != 0, "the old password still logs in"
