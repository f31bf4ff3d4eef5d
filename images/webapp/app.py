#!/usr/bin/python3
"""webapp: the sample 12-factor service baked into the app image.

Config comes only from the environment, which systemd loads from these files:
  /etc/webapp/image.env  baked by Packer: APP_NAME, APP_VERSION, IMAGE_NAME
  /etc/webapp/app.env    written by cloud-init on first boot (mode 0600):
                         APP_ENV, APP_PORT, APP_DRAIN_SECONDS, APP_SECRET, DATABASE_HOST,
                         DATABASE_PORT, DATABASE_NAME, DATABASE_USER, DATABASE_PASSWORD,
                         DATABASE_SSLMODE (verify-full), DATABASE_SSLROOTCERT (the
                         cluster's CA, /etc/webapp/database-ca.crt, also cloud-init's);
                         on AWS no secret but APP_GENERATION (the fleet generation),
                         and DATABASE_SSLROOTCERT names RDS's bundle, baked in the AMI
  /run/webapp/secrets.env  AWS only: DATABASE_PASSWORD and APP_SECRET, fetched from SSM
                         at boot by webapp-secrets.service (fetch_secrets.py)
and which server it is from cloud-init's instance data (the droplet id, the EC2
instance id, NoCloud's instance-id), read once at start.

  GET /readyz   readiness, for the load balancer: 503 {"status": "starting"} until
                the database has answered once since start (a server with a bad
                database password never takes traffic), then 200 {"status":
                "ready"} while serving, 503 {"status": "draining"} once stopping.
                It never touches the database itself: once started, a database
                blip never empties the pool
  GET /healthz  deep health, for the deploy's health gate: 200 {"status": "ok"}
                only while the database answers `SELECT 1`, else 503
                {"status": "unhealthy"} (or "draining"); both report version,
                image, instance, hostname and generation (APP_GENERATION, the
                fleet generation the deploy's gate counts on AWS; null on
                DigitalOcean, where the gate counts droplet ids instead)
  GET /         hello, with the same identity

Starts fast (no database connection at start), serves each request in a thread.
On SIGTERM it drains: readiness fails at once, it keeps serving for
APP_DRAIN_SECONDS (the load balancer's detection window, which the program
derives from the numbers it gives the balancer), then stops accepting, lets
in-flight requests finish, and exits 0. The unit's TimeoutStopSec covers it.
Logs go to stdout (the journal); the password and the secret are never logged.
Standard library plus Debian's python3-psycopg2; nothing is downloaded at boot.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONNECT_TIMEOUT_SECONDS = 2
# The paths the program points the load balancer and the health gate at (components/serving.py).
READINESS_PATH = "/readyz"
HEALTH_PATH = "/healthz"
# cloud-init's world-readable instance data (the sensitive part lives in another, root-only file).
INSTANCE_DATA = "/run/cloud-init/instance-data.json"
# The unit's TimeoutStopSec leaves room for this and in-flight requests (components/serving.py).
MAX_DRAIN_SECONDS = 60


def log(message: str) -> None:
    print(message, flush=True)


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


def instance_id(path: str) -> str | None:
    """The instance id cloud-init got from the cloud's metadata, or None (then no gate can count this server)."""
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)["v1"]["instance_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(value) if value is not None else None


def database_reachable(settings: Settings) -> tuple[bool, str | None]:
    """A real connection and `SELECT 1`; returns (ok, error class name). Never raises."""
    if not settings.database["host"]:
        return False, "NotConfigured"
    try:
        import psycopg2  # Debian's python3-psycopg2, imported late so the app starts fast
    except ImportError:
        return False, "DriverMissing"
    try:
        connection = psycopg2.connect(**settings.database)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            connection.close()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"; only its class is reported
        return False, type(error).__name__
    return True, None


def wait_for_database(settings: Settings, started: threading.Event, stopping: threading.Event, interval: float = 2.0) -> None:
    """Until the database answers once (then `started` is set), or until the app stops."""
    while not stopping.is_set():
        ok, error = database_reachable(settings)
        if ok:
            log("database reachable: ready for traffic")
            started.set()
            return
        log(f"database not reachable yet ({error}): not ready")
        stopping.wait(interval)


def make_handler(settings: Settings, started: threading.Event, draining: threading.Event):
    hostname = socket.gethostname()

    class Handler(BaseHTTPRequestHandler):
        server_version = "webapp"
        sys_version = ""

        def _send(self, status: int, document: dict) -> None:
            body = (json.dumps(document, sort_keys=True) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
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
                ok, error = database_reachable(settings)
                document = {"status": "ok" if ok else "unhealthy", "database": ok, **identity}
                if error:
                    document["error"] = error
                self._send(200 if ok else 503, document)
            elif self.path == "/":
                self._send(200, {"message": f"hello from {settings.app_name} {settings.version} on {hostname}", "environment": settings.environment, **identity})
            else:
                self._send(404, {"error": "not found"})

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
            log(f"{self.address_string()} {format % args}")

    return Handler


def main() -> int:
    settings = Settings(dict(os.environ))
    started, draining = threading.Event(), threading.Event()
    server = ThreadingHTTPServer((settings.bind, settings.port), make_handler(settings, started, draining))
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
    threading.Thread(target=wait_for_database, args=(settings, started, draining), daemon=True).start()
    start_time = time.monotonic()
    log(f"{settings.app_name} {settings.version} ({settings.image}) instance {settings.instance} listening on {settings.bind}:{settings.port}, environment {settings.environment}")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    log(f"stopped after {time.monotonic() - start_time:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
