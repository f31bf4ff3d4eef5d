#!/usr/bin/python3
"""webapp: the sample 12-factor service baked into the app image.

Config comes only from the environment, which systemd loads from two files:
  /etc/webapp/image.env  baked by Packer: APP_NAME, APP_VERSION, IMAGE_NAME
  /etc/webapp/app.env    written by cloud-init on first boot (mode 0600):
                         APP_ENV, APP_PORT, APP_SECRET, DATABASE_HOST, DATABASE_PORT,
                         DATABASE_NAME, DATABASE_USER, DATABASE_PASSWORD, DATABASE_SSLMODE

  GET /healthz  200 {"status": "ok", ...} only while the database answers `SELECT 1`,
                else 503 {"status": "unhealthy", ...}; both report version, image, hostname
  GET /         hello, with version and hostname

Starts fast (no database connection at start), serves each request in a thread,
and on SIGTERM stops accepting, lets in-flight requests finish, and exits 0.
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


def make_handler(settings: Settings):
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
            identity = {"version": settings.version, "image": settings.image, "hostname": hostname}
            if self.path == "/healthz":
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
    server = ThreadingHTTPServer((settings.bind, settings.port), make_handler(settings))
    # Finish in-flight requests on shutdown: join the request threads instead of abandoning them.
    server.daemon_threads = False
    server.block_on_close = True

    def stop(signum, frame) -> None:
        log(f"received signal {signum}: draining and stopping")
        # shutdown() waits for serve_forever to return, so it must run outside the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = time.monotonic()
    log(f"{settings.app_name} {settings.version} ({settings.image}) listening on {settings.bind}:{settings.port}, environment {settings.environment}")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    log(f"stopped after {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
