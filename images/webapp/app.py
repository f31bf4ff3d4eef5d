#!/usr/bin/python3
"""webapp: the sample 12-factor service baked into the app image.

Config comes only from the environment, which systemd loads from these files:
  /etc/webapp/image.env  baked by Packer: APP_NAME, APP_VERSION, IMAGE_NAME
  /etc/webapp/app.env    written by cloud-init on first boot (mode 0600):
                         APP_ENV, APP_PORT, APP_DRAIN_SECONDS, APP_SECRET, DATABASE_HOST,
                         DATABASE_PORT, DATABASE_NAME, DATABASE_USER, DATABASE_PASSWORD,
                         DATABASE_SSLMODE (verify-full), DATABASE_SSLROOTCERT (the
                         cluster's CA, /etc/webapp/database-ca.crt, also cloud-init's);
                         optionally APP_SECRET_PREVIOUS
                         (sessions made with it are still read: the rotation's grace period);
                         on AWS no secret but APP_GENERATION (the fleet generation),
                         and DATABASE_SSLROOTCERT names RDS's bundle, baked in the AMI
  /etc/webapp/migration.env  written by cloud-init (mode 0600): DATABASE_MIGRATION_USER, the role
                         that owns the schema and runs DDL (DigitalOcean's doadmin, RDS's master
                         user), and its password: DATABASE_MIGRATION_PASSWORD on DigitalOcean; on
                         AWS only the SSM parameter naming it, and DATABASE_MIGRATION_MANAGES_USER
                         ("true": `--migrate` makes the serving role DATABASE_USER itself); loaded
                         only by webapp-migrate.service, which runs `app.py --migrate` before the
                         app serves: no serving process holds it
  /run/webapp/secrets.env  AWS only: DATABASE_PASSWORD, APP_SECRET and, when set,
                         APP_SECRET_PREVIOUS, fetched from SSM at boot by
                         webapp-secrets.service (fetch_secrets.py)
  /run/webapp/migration-secrets.env  AWS only: DATABASE_MIGRATION_PASSWORD, fetched likewise,
                         for webapp-migrate.service alone
and which server it is from cloud-init's instance data (the droplet id, the EC2
instance id, NoCloud's instance-id), read once at start.

Before it reports ready, the schema must be at its migrations' head (schema.py: Alembic, one
transaction under an advisory lock, so the first server of a rollout migrates and the others find
it done). Where migration.env exists (DigitalOcean and AWS), `app.py --migrate`
(webapp-migrate.service) migrates as the schema's owner and exits; the app, serving as a role
with no DDL, then finds the schema at its head. Without it (a serving role that owns the
schema), the app migrates itself.
A failed migration rolls back, and the server never becomes ready and fails its deep health
check (the gate stops the rollout); it retries now and then.

  GET /readyz   readiness, for the load balancer: 503 {"status": "starting"} until
                the database has answered once since start and the schema is one
                this version serves on (a server with a bad database password or a
                failed migration never takes traffic), then 200 {"status":
                "ready"} while serving, 503 {"status": "draining"} once stopping.
                It never touches the database itself: once started, a database
                blip never empties the pool
  GET /healthz  deep health, for the deploy's health gate: 200 {"status": "ok"}
                only once the schema is migrated and while the database answers
                `SELECT 1` (asked at most once a second on one connection of its own,
                however many clients ask: DatabaseProbe), else 503 {"status": "unhealthy"} with the error (a failed
                migration: "MigrationFailed" and the reason), "starting" while
                migrating, or "draining"; both report version,
                image, instance, hostname and generation (APP_GENERATION, the
                fleet generation the deploy's gate counts on AWS; null on
                DigitalOcean, where the gate counts droplet ids instead)
  GET /         hello, with the same identity, the page's view count (a row of
                webapp.page_views, incremented; null while the database is away: the
                page still answers) and this client's own visit count, kept in its
                session cookie (sessions.py: encrypted and signed with APP_SECRET)

Starts fast (no database connection at start), serves each request in a thread: at most
MAX_CONCURRENT_REQUESTS at once (more get a 503), each bounded by REQUEST_TIMEOUT_SECONDS.
On SIGTERM it drains: readiness fails at once, it keeps serving for
APP_DRAIN_SECONDS (the load balancer's detection window, which the program
derives from the numbers it gives the balancer), then stops accepting, lets
in-flight requests finish, and exits 0. The unit's TimeoutStopSec covers it.
Logs go to stdout (the journal); the password and the secret are never logged.
Standard library plus Debian's python3-psycopg2, python3-alembic and python3-cryptography
(imported late, off the serving path's start); nothing is downloaded at boot.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# `python3 -I` leaves the script's folder off sys.path (-P): the app's own modules sit next to it
# in /opt/webapp, which only root may write.
sys.path.insert(0, str(Path(__file__).resolve().parent))

CONNECT_TIMEOUT_SECONDS = 2
# The paths the program points the load balancer and the health gate at (components/serving.py).
READINESS_PATH = "/readyz"
HEALTH_PATH = "/healthz"
# cloud-init's world-readable instance data (the sensitive part lives in another, root-only file).
INSTANCE_DATA = "/run/cloud-init/instance-data.json"
# The unit's TimeoutStopSec leaves room for this and in-flight requests (components/serving.py).
MAX_DRAIN_SECONDS = 60
# Connections `/` may hold at once, kept open between requests (each new one pays a TLS handshake and
# SCRAM). A bound, not only an idle cap: during a replacement two generations share the database's
# connection limit, which is small on the smallest managed plans.
POOL_SIZE = 4
# How long a request waits for one of them before the page answers without its count.
POOL_WAIT_SECONDS = 5
# A new connection for `/` may take longer than the deep health check's (a server under load, TLS and
# SCRAM on a busy CPU): the page's own write waits for it, within a client's patience.
POOL_CONNECT_TIMEOUT_SECONDS = 5
# How old the deep check's database answer may be when `/healthz` serves it (DatabaseProbe): however
# many clients ask, a server opens one connection for it and queries at most this often.
HEALTH_MAX_AGE_SECONDS = 1.0
# A connection must send its whole request within this (and take an answer within it), or it is closed:
# a client that never finishes its headers holds a thread no longer, and cannot hold up the stop.
# Well inside the unit's TimeoutStopSec margin after the longest drain (components/serving.py).
REQUEST_TIMEOUT_SECONDS = 10
# Requests served at once; a connection beyond them is answered 503 at once and closed, so a flood of
# slow clients costs a bounded number of threads (the load balancer's checks still get answers).
MAX_CONCURRENT_REQUESTS = 64
# Strict-Transport-Security on answers to HTTPS clients: a year, as browsers' preload lists expect of a site that means it.
HSTS_MAX_AGE_SECONDS = 31536000
# webapp-migrate.service's own credentials (it alone loads the file) and where it says how its last attempt went.
MIGRATION_ENV_FILE = "/etc/webapp/migration.env"
MIGRATION_STATUS_FILE = "/run/webapp-migrate/status.json"
# webapp-migrate.service's bound on one run (systemd restarts it after a failure; its unit's start timeout covers it).
MIGRATE_DEADLINE_SECONDS = 60
# Between attempts to migrate after a failure (a broken migration is retried, slowly).
MIGRATION_RETRY_SECONDS = 10


def log(message: str) -> None:
    print(message, flush=True)


def describe_error(error: BaseException) -> str:
    """Its class and the first line of its message (libpq's messages name the server, never a password)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


class Settings:
    """The process environment, read once."""

    def __init__(self, environ: dict[str, str]):
        self.app_name = environ.get("APP_NAME", "webapp")
        self.version = environ.get("APP_VERSION", "unknown")
        self.image = environ.get("IMAGE_NAME", "unknown")
        self.environment = environ.get("APP_ENV", "unknown")
        self.port = int(environ.get("APP_PORT", "8080"))
        self.bind = environ.get("APP_BIND", "0.0.0.0")
        self.drain_seconds = min(max(float(environ.get("APP_DRAIN_SECONDS", "0")), 0.0), MAX_DRAIN_SECONDS)
        # Shorter only in tests (they wait for it); never longer than the default.
        self.request_timeout = min(max(float(environ.get("APP_REQUEST_TIMEOUT_SECONDS", REQUEST_TIMEOUT_SECONDS)), 0.5), REQUEST_TIMEOUT_SECONDS)
        self.instance = instance_id(environ.get("CLOUD_INIT_INSTANCE_DATA", INSTANCE_DATA))
        # The fleet generation this server was launched as (AWS user-data); None where there is none.
        self.generation = environ.get("APP_GENERATION") or None
        self.database = {
            "host": environ.get("DATABASE_HOST", ""),
            "port": environ.get("DATABASE_PORT", "5432"),
            "dbname": environ.get("DATABASE_NAME", ""),
            "user": environ.get("DATABASE_USER", ""),
            "password": environ.get("DATABASE_PASSWORD", ""),
            "sslmode": environ.get("DATABASE_SSLMODE", "require"),
            "connect_timeout": str(CONNECT_TIMEOUT_SECONDS),
            "application_name": f"{self.app_name}-{self.version}",
        }
        if environ.get("DATABASE_SSLROOTCERT"):
            # The CA that must have signed the server's certificate (verify-full checks the host
            # name too); libpq's default, ~/.postgresql/root.crt, does not exist for this user.
            self.database["sslrootcert"] = environ["DATABASE_SSLROOTCERT"]
        # The role that runs DDL, if not the serving one: only in `--migrate` mode (webapp-migrate.service,
        # which alone loads migration.env); the serving process never holds it.
        self.migration_database: dict[str, str] | None = None
        if environ.get("DATABASE_MIGRATION_USER"):
            self.migration_database = {**self.database, "user": environ["DATABASE_MIGRATION_USER"], "password": environ.get("DATABASE_MIGRATION_PASSWORD", "")}
        # Whether the migration role also makes the serving role (AWS, where no cloud API does): see schema.provision_serving_role.
        self.migration_manages_user = environ.get("DATABASE_MIGRATION_MANAGES_USER") == "true"
        self.migrations = Path(environ.get("APP_MIGRATIONS", str(Path(__file__).resolve().parent / "migrations")))
        # Present (the app may not read it, only see it): the schema's owner migrates, in webapp-migrate.service,
        # and this process only waits for the schema, reading how that unit's last attempt went.
        self.migration_env_file = Path(environ.get("APP_MIGRATION_ENV_FILE", MIGRATION_ENV_FILE))
        self.migration_status_file = Path(environ.get("APP_MIGRATION_STATUS_FILE", MIGRATION_STATUS_FILE))
        self.secret = environ.get("APP_SECRET", "")
        self.previous_secret = environ.get("APP_SECRET_PREVIOUS") or None


def instance_id(path: str) -> str | None:
    """The instance id cloud-init got from the cloud's metadata, or None (then no gate can count this server)."""
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)["v1"]["instance_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(value) if value is not None else None


def database_check(settings: Settings) -> tuple[bool, str | None, str | None]:
    """A real connection and `SELECT 1`: (ok, error class name, the error's first line for the log). Never raises."""
    if not settings.database["host"]:
        return False, "NotConfigured", "NotConfigured"
    try:
        import psycopg2  # Debian's python3-psycopg2, imported late so the app starts fast
    except ImportError:
        return False, "DriverMissing", "DriverMissing"
    try:
        connection = psycopg2.connect(**settings.database)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            connection.close()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"; its class goes to /healthz, its first line to the log
        return False, type(error).__name__, describe_error(error)
    return True, None, None


class DatabaseProbe:
    """The deep health check's database answer, shared by every request: one connection, one query at a time.

    `/healthz` is as public as `/`: a check per request would let anyone open the database's
    connections faster than it has them (and starve `/`, new servers' start-up and the gate). Here a
    request within HEALTH_MAX_AGE_SECONDS of the last check gets its answer; later ones wait for the
    one check under way (never a second one), which runs `SELECT 1` on the probe's own connection,
    kept open, and on a new one if that one was lost. So the gate's "reachable" is at most this old.
    """

    def __init__(self, settings: Settings, max_age: float = 0.0):
        self.settings, self.max_age = settings, max_age
        self.running = threading.Lock()  # held by the one check under way
        self.answer: tuple[bool, str | None, str | None] = (False, "NotCheckedYet", "NotCheckedYet")
        self.checked_at = -math.inf
        self.connection = None

    def check(self) -> tuple[tuple[bool, str | None, str | None], float]:
        """(ok, error class, error line) and how many seconds ago the database answered so. Never raises."""
        if time.monotonic() - self.checked_at > self.max_age:
            # A check that hangs is bounded by its connect timeout; waiting past that, answer unhealthy.
            if not self.running.acquire(timeout=2 * CONNECT_TIMEOUT_SECONDS + 1):
                return (False, "CheckBusy", "CheckBusy"), math.inf
            try:
                if time.monotonic() - self.checked_at > self.max_age:  # nobody refreshed it while we waited
                    self.answer = self._select_one()
                    self.checked_at = time.monotonic()
            finally:
                self.running.release()
        return self.answer, time.monotonic() - self.checked_at

    def _select_one(self) -> tuple[bool, str | None, str | None]:
        if not self.settings.database["host"]:
            return False, "NotConfigured", "NotConfigured"
        try:
            import psycopg2
        except ImportError:
            return False, "DriverMissing", "DriverMissing"
        for attempt in (1, 2):
            reused = self.connection is not None
            try:
                if self.connection is None:
                    self.connection = psycopg2.connect(**self.settings.database)
                    self.connection.autocommit = True  # never idle in a transaction
                with self.connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
                return True, None, None
            except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
                if self.connection is not None:
                    self.connection.close()
                    self.connection = None
                if not (reused and attempt == 1):  # a connection lost while idle gets one new try
                    return False, type(error).__name__, describe_error(error)
        raise AssertionError("unreachable: the second attempt returns")


class SchemaState:
    """Where this server's migration stands: "pending", "ok" or "failed" (with the reason)."""

    def __init__(self) -> None:
        self.status = "pending"
        self.revision: str | None = None
        self.reason: str | None = None


def prepare(settings: Settings, schema_state: SchemaState, pool: ConnectionPool, started: threading.Event, stopping: threading.Event, interval: float = 2.0) -> None:
    """Until the database answers and the schema is migrated (then `started` is set), or until the app stops.

    The pool gets its first connection before readiness says yes: the first requests the load balancer
    sends a server that has just booted (its CPU still busy) do not each wait for a TLS handshake.
    """
    while not stopping.is_set():
        ok, _, detail = database_check(settings)
        if not ok:
            # Why, in the log (shipped off the server): a failed canary's reason outlives it.
            log(f"database not reachable yet ({detail}): not ready")
            stopping.wait(interval)
            continue
        if settings.migration_env_file.exists():
            if not schema_migrated_elsewhere(settings, schema_state):
                stopping.wait(interval)
                continue
        elif not migrate_schema(settings, schema_state):
            stopping.wait(MIGRATION_RETRY_SECONDS)
            continue
        pool.warm()
        log("database reachable, schema migrated: ready for traffic")
        started.set()
        return


def schema_migrated_elsewhere(settings: Settings, schema_state: SchemaState) -> bool:
    """Whether the schema is one this version serves on, webapp-migrate.service having migrated it; else why not, in ``schema_state``."""
    import psycopg2
    import schema

    try:
        ready, revision = schema.serves_on(lambda: psycopg2.connect(**settings.database), settings.migrations)
    except Exception as error:  # noqa: BLE001 - the database went away: the next round asks again
        log(f"schema not checked: {describe_error(error)}")
        return False
    if ready:
        schema_state.status, schema_state.revision, schema_state.reason = "ok", revision, None
        log(f"schema {schema.SCHEMA} at {revision}, migrated by webapp-migrate.service")
        return True
    try:
        unit = json.loads(settings.migration_status_file.read_text())
    except (OSError, ValueError):
        unit = {}
    if unit.get("status") == "failed":
        schema_state.status, schema_state.reason = "failed", str(unit.get("reason"))
    return False


def migrate_schema(settings: Settings, schema_state: SchemaState) -> bool:
    import psycopg2
    import schema

    credentials = settings.migration_database or settings.database
    try:
        outcome = schema.migrate(lambda: psycopg2.connect(**credentials), settings.database["user"], settings.migrations)
    except schema.MigrationError as failure:
        schema_state.status, schema_state.reason = "failed", str(failure)
        log(f"schema migration failed, rolled back: {failure}: {failure.cause}")
        return False
    except Exception as error:  # noqa: BLE001 - the database went away, the lock timed out, ...: try again later
        schema_state.status, schema_state.reason = "failed", f"{type(error).__name__} before migrating"
        log(f"schema migration not attempted: {type(error).__name__}: {error}")
        return False
    schema_state.status, schema_state.revision, schema_state.reason = "ok", outcome.after, None
    log(outcome.describe())
    return True


def migrate_main(deadline_seconds: float = MIGRATE_DEADLINE_SECONDS) -> int:
    """webapp-migrate.service: bring the schema to this version's head as its owner, then exit, the credential with it.

    Retries while the database is not reachable yet or the migration fails, up to the deadline; then
    exits 1 (systemd restarts it) while the app, started anyway, reports why it is not ready.
    """
    settings = Settings(dict(os.environ))
    if settings.migration_database is None:
        log("webapp-migrate: no DATABASE_MIGRATION_USER: the serving role migrates (it owns the schema)")
        return 0
    deadline = time.monotonic() + deadline_seconds
    state = SchemaState()
    while not (serving_role_provisioned(settings, state) and migrate_schema(settings, state)):
        # For the app, which reports it in /healthz (no credential in it: a class and a revision).
        write_status(settings.migration_status_file, {"status": "failed", "reason": state.reason})
        if time.monotonic() >= deadline:
            log(f"webapp-migrate: schema not migrated within {deadline_seconds:g}s")
            return 1
        time.sleep(2)
    write_status(settings.migration_status_file, {"status": "ok", "revision": state.revision})
    return 0


def serving_role_provisioned(settings: Settings, schema_state: SchemaState) -> bool:
    """Where the migration role manages the serving role (AWS): made, or brought back to what serving needs; else why not, in ``schema_state``."""
    if not settings.migration_manages_user:
        return True
    import psycopg2
    import schema

    owner = settings.migration_database or settings.database
    user, password = settings.database["user"], settings.database["password"]
    try:
        created = schema.provision_serving_role(lambda: psycopg2.connect(**owner), user, password)
    except schema.ServingRoleError as error:
        schema_state.status, schema_state.reason = "failed", f"ServingRoleError: {error}"
        log(f"serving role {user} not provisioned: {error}")
        return False
    except Exception as error:  # noqa: BLE001 - the database went away, a lock timed out ...: the next round tries again
        schema_state.status, schema_state.reason = "failed", f"{type(error).__name__} provisioning the serving role"
        log(f"serving role {user} not provisioned: {describe_error(error)}")
        return False
    log(f"serving role {user} {'created' if created else 'updated'}: DML on schema {schema.SCHEMA}, no DDL")
    return True


def write_status(path: Path, status: dict) -> None:
    try:
        temporary = path.with_name(path.name + ".new")
        temporary.write_text(json.dumps(status) + "\n")
        temporary.chmod(0o644)  # the app's user reads it
        temporary.replace(path)
    except OSError as error:
        log(f"webapp-migrate: status not written: {describe_error(error)}")


class PoolBusyError(Exception):
    """Every connection of the pool stayed busy for POOL_WAIT_SECONDS."""


class ConnectionPool:
    """At most ``size`` connections for `/`, with the serving role, reused while they work.

    A connection the server closed while it sat idle (a restart, a failover, an idle timeout) fails
    before its statement ran, so nothing was written: the statement is retried once on a new
    connection, and the other idle ones (likely closed too) are dropped. A failure at commit is never
    retried (the row may be written).
    """

    def __init__(self, settings: Settings, size: int = POOL_SIZE):
        self.settings, self.size = settings, size
        self.idle: list = []
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(size)

    def run(self, statement: str, parameters: tuple) -> tuple | None:
        import psycopg2

        if not self.slots.acquire(timeout=POOL_WAIT_SECONDS):
            raise PoolBusyError(f"all {self.size} connections busy for {POOL_WAIT_SECONDS}s")
        try:
            for attempt in (1, 2):
                with self.lock:
                    connection = self.idle.pop() if self.idle else None
                reused = connection is not None
                if connection is None:
                    connection = self._connect()
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(statement, parameters)
                        row = cursor.fetchone()
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                    connection.close()
                    if reused and attempt == 1:
                        log(f"database connection lost while idle ({type(error).__name__}); retrying on a new one")
                        self._drop_idle()
                        continue
                    raise
                except Exception:
                    connection.close()
                    raise
                try:
                    connection.commit()
                except Exception:
                    connection.close()
                    raise
                with self.lock:
                    self.idle.append(connection)
                return row
            raise AssertionError("unreachable: the second attempt returns or raises")
        finally:
            self.slots.release()

    def warm(self) -> None:
        """Open one connection for the first request; a failure only means that request opens it."""
        try:
            connection = self._connect()
        except Exception as error:  # noqa: BLE001 - readiness does not depend on it
            log(f"pool not warmed: {describe_error(error)}")
            return
        with self.lock:
            self.idle.append(connection)

    def _connect(self):
        import psycopg2

        return psycopg2.connect(**{**self.settings.database, "connect_timeout": str(POOL_CONNECT_TIMEOUT_SECONDS)})

    def _drop_idle(self) -> None:
        with self.lock:
            stale, self.idle = self.idle, []
        for connection in stale:
            connection.close()


COUNT_VIEW = "INSERT INTO webapp.page_views (path, views) VALUES (%s, 1) ON CONFLICT (path) DO UPDATE SET views = webapp.page_views.views + 1, updated_at = now() RETURNING views"


class Sessions:
    """The session codec, built on first use (cryptography is not loaded before the app listens)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.codec = None

    def get(self):
        if not self.settings.secret:
            return None  # no secret, no sessions: never sign with an empty key
        with self.lock:
            if self.codec is None:
                import sessions

                self.codec = sessions.SessionCodec(self.settings.secret, self.settings.previous_secret)
            return self.codec


class BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per request, at most ``max_requests`` at once; the rest get a 503 and are closed without a thread."""

    def __init__(self, address: tuple[str, int], handler, max_requests: int = MAX_CONCURRENT_REQUESTS):
        super().__init__(address, handler)
        self.slots = threading.BoundedSemaphore(max_requests)
        # Connections still reading their request line and headers, and when that must be done: one watchdog
        # thread for them all (a timer per connection would double the threads a flood costs).
        self.header_deadlines: dict[socket.socket, float] = {}
        self.deadlines_lock = threading.Lock()
        threading.Thread(target=self._cut_late_headers, daemon=True).start()

    def expect_headers(self, connection: socket.socket, seconds: float) -> None:
        with self.deadlines_lock:
            self.header_deadlines[connection] = time.monotonic() + seconds

    def headers_done(self, connection: socket.socket) -> None:
        with self.deadlines_lock:
            self.header_deadlines.pop(connection, None)

    def _cut_late_headers(self) -> None:
        """The socket timeout bounds each read; this the whole request line and headers (a client trickling a
        byte at a time would reset the former forever): past it, the read side is shut and the handler ends."""
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self.deadlines_lock:
                late = [connection for connection, deadline in self.header_deadlines.items() if deadline <= now]
                for connection in late:
                    del self.header_deadlines[connection]
            for connection in late:
                with contextlib.suppress(OSError):  # the connection is closed already
                    connection.shutdown(socket.SHUT_RD)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):  # the client went already
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def make_handler(settings: Settings, started: threading.Event, draining: threading.Event, schema_state: SchemaState, pool: ConnectionPool):
    hostname = socket.gethostname()
    probe = DatabaseProbe(settings, max_age=HEALTH_MAX_AGE_SECONDS)
    session_codecs = Sessions(settings)

    class Handler(BaseHTTPRequestHandler):
        # The socket's timeout: reading the request line and headers, and writing the answer (StreamRequestHandler).
        timeout = settings.request_timeout
        server_version = "webapp"
        sys_version = ""

        def setup(self) -> None:
            super().setup()
            self.server.expect_headers(self.connection, settings.request_timeout)  # type: ignore[attr-defined]  # BoundedHTTPServer

        def parse_request(self) -> bool:
            parsed = super().parse_request()  # reads the headers too
            self.server.headers_done(self.connection)  # type: ignore[attr-defined]
            return parsed

        def finish(self) -> None:
            self.server.headers_done(self.connection)  # type: ignore[attr-defined]
            super().finish()

        def _over_https(self) -> bool:
            """The client came over HTTPS: the load balancer terminated TLS and says so (only it reaches us)."""
            return self.headers.get("X-Forwarded-Proto", "").lower() == "https"

        def _send(self, status: int, document: dict, cookie: str | None = None) -> None:
            body = (json.dumps(document, sort_keys=True) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if self._over_https():
                # Neither load balancer adds HSTS; the app does, on HTTPS only (over plain HTTP it would mean nothing).
                # No includeSubDomains or preload: the app's name is one host of a domain it does not own.
                self.send_header("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_SECONDS}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if cookie:
                self.send_header("Set-Cookie", cookie)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            identity = {"version": settings.version, "image": settings.image, "hostname": hostname, "instance": settings.instance, "generation": settings.generation}
            if self.path == READINESS_PATH:
                if draining.is_set():
                    self._send(503, {"status": "draining", **identity})
                elif not started.is_set():
                    self._send(503, {"status": "starting", **identity})
                else:
                    self._send(200, {"status": "ready", **identity})
            elif self.path == HEALTH_PATH:
                if draining.is_set():
                    self._send(503, {"status": "draining", "database": None, **identity})
                    return
                (ok, error, _), age = probe.check()
                document = {
                    "status": "ok" if ok else "unhealthy",
                    "database": ok,
                    "database_checked_seconds_ago": round(age, 3) if math.isfinite(age) else None,
                    "migration": schema_state.status,
                    "schema": schema_state.revision,
                    **identity,
                }
                if ok and schema_state.status == "failed":
                    # The gate stops the rollout here; the old fleet serves on the unchanged schema.
                    ok, error = False, "MigrationFailed"
                    document.update(status="unhealthy", reason=schema_state.reason)
                elif ok and schema_state.status == "pending":
                    ok = False
                    document["status"] = "starting"
                if error:
                    document["error"] = error
                self._send(200 if ok else 503, document)
            elif self.path == "/":
                views, session, cookie = self._count_view(), {}, None
                codec = session_codecs.get()
                if codec is not None:
                    import sessions

                    session = codec.load(sessions.cookie_token(self.headers.get("Cookie")))
                    visits = session.get("visits")
                    session["visits"] = (visits if isinstance(visits, int) else 0) + 1
                    # Secure when the load balancer says the client came over HTTPS (only it reaches us).
                    cookie = sessions.set_cookie(codec.dump(session), secure=self._over_https())
                document = {
                    "message": f"hello from {settings.app_name} {settings.version} on {hostname}",
                    "environment": settings.environment,
                    "views": views,
                    "session_visits": session.get("visits"),
                    **identity,
                }
                self._send(200, document, cookie)
            else:
                self._send(404, {"error": "not found"})

        def _count_view(self) -> int | None:
            """This page's view count after this view, or None while the schema or the database is not there."""
            if not started.is_set():
                return None
            try:
                row = pool.run(COUNT_VIEW, ("/",))
            except Exception as error:  # noqa: BLE001 - the page answers without its count (readiness already keeps a pool through a blip)
                log(f"page view not counted: {describe_error(error)}")
                return None
            return int(row[0]) if row else None

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
            log(f"{self.address_string()} {format % args}")

    return Handler


def main() -> int:
    settings = Settings(dict(os.environ))
    # The serving process migrates, if at all, with its own role (one that owns the schema): the owner's
    # credentials are webapp-migrate.service's alone, even if something handed them over.
    settings.migration_database = None
    for name in ("DATABASE_MIGRATION_USER", "DATABASE_MIGRATION_PASSWORD"):
        os.environ.pop(name, None)
    started, draining, schema_state, pool = threading.Event(), threading.Event(), SchemaState(), ConnectionPool(settings)
    server = BoundedHTTPServer((settings.bind, settings.port), make_handler(settings, started, draining, schema_state, pool))
    # Finish in-flight requests on shutdown: join the request threads instead of abandoning them.
    server.daemon_threads = False
    server.block_on_close = True

    def drain_then_stop() -> None:
        # Keep serving while the load balancer's checks of /readyz fail and it takes us out.
        time.sleep(settings.drain_seconds)
        log("drained: no longer accepting connections; finishing in-flight requests")
        server.shutdown()  # waits for serve_forever to return, so it runs outside the serving thread

    def stop(signum, frame) -> None:
        if draining.is_set():
            return
        draining.set()
        log(f"received signal {signum}: failing readiness, serving {settings.drain_seconds:g}s more while the load balancer notices, then stopping")
        threading.Thread(target=drain_then_stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=prepare, args=(settings, schema_state, pool, started, draining), daemon=True).start()
    start_time = time.monotonic()
    log(f"{settings.app_name} {settings.version} ({settings.image}) instance {settings.instance} listening on {settings.bind}:{settings.port}, environment {settings.environment}")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    log(f"stopped after {time.monotonic() - start_time:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(migrate_main() if sys.argv[1:] == ["--migrate"] else main())
