"""A database cluster of the ``process`` backend: a PostgreSQL server of its own, with TLS, on the cluster's loopback address.

The cluster's CA (``GET /v2/databases/{id}/ca``) is made for it and signs the server's
certificate for the cluster's address, so a client that verifies the server against the CA
the API hands out (``sslmode=verify-full``) connects, and one that trusts another CA does not.
As on DigitalOcean: ``doadmin`` owns ``defaultdb`` and every database made through the API,
and may create roles and databases; a user made through the API is granted nothing.

PostgreSQL refuses to run as root: the server runs as Debian's ``postgres`` user (``runuser``).
It is throw-away: no fsync. Every wait is bounded.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

from do_stand_in.certificates import make_ca, sign_server

START_TIMEOUT_SECONDS = 60
COMMAND_TIMEOUT_SECONDS = 120
PORT = 25060  # DigitalOcean's port for PostgreSQL clusters


def server_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted((path for path in Path("/usr/lib/postgresql").glob("*/bin") if (path / "initdb").exists()), key=lambda path: int(path.parent.name))
    if not found:
        raise RuntimeError("the process backend needs a PostgreSQL server (Debian package postgresql)")
    return found[-1]


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Cluster:
    """Made in a thread of its own (``ready`` says when it serves); SQL asked for before then waits its turn."""

    def __init__(self, folder: Path, address: str, admin_password: str):
        self.folder = folder
        self.address = address
        self.port = PORT
        self.ready = threading.Event()
        self.failed: str | None = None
        self.failure_logged = False
        self._pending: list[str] = []  # statements asked for before the server was up, in order
        self._pending_lock = threading.Lock()
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.folder, "postgres", "postgres")
        self.folder.chmod(0o700)
        ca_key, self.ca_file = make_ca(self.folder, "do-stand-in database cluster CA")
        key, certificate = sign_server(self.folder, ca_key, self.ca_file, [address])
        ca_key.unlink()  # the CA signs this one server only
        for path in (key, certificate):
            shutil.chown(path, "postgres", "postgres")
        key.chmod(0o600)
        self.ca_certificate = self.ca_file.read_text()
        threading.Thread(target=self._make, args=(admin_password,), daemon=True).start()

    def _make(self, admin_password: str) -> None:
        try:
            binaries = server_bin()
            data = self.folder / "data"
            self._as_postgres(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
            options = (
                f"-c listen_addresses={self.address} -c port={self.port} -c unix_socket_directories={self.folder} -c ssl=on "
                f"-c ssl_cert_file={self.folder / 'server.crt'} -c ssl_key_file={self.folder / 'server.key'} -c fsync=off"
            )
            self._as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"), "-w", "-t", str(START_TIMEOUT_SECONDS), "start", "-o", options)
            self._sql(f"CREATE ROLE doadmin LOGIN CREATEDB CREATEROLE PASSWORD {literal(admin_password)}")
            self._sql("CREATE DATABASE defaultdb OWNER doadmin")
            while True:
                with self._pending_lock:
                    if not self._pending:
                        self.ready.set()
                        return
                    statement = self._pending.pop(0)
                self._sql(statement)
        except subprocess.CalledProcessError as error:
            self.failed = f"{error}: {error.stderr.strip()[-1000:]}"
        except (subprocess.SubprocessError, OSError, RuntimeError) as error:
            self.failed = str(error)

    def _as_postgres(self, *command: str) -> str:
        return subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, cwd=self.folder).stdout

    def _sql(self, statement: str) -> str:
        psql = str(server_bin() / "psql")
        return self._as_postgres(psql, "-h", str(self.folder), "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc", statement)

    def run(self, statement: str) -> None:
        """Run a statement as the superuser: now if the server is up, else once it is (in the order asked)."""
        with self._pending_lock:
            if not self.ready.is_set():
                self._pending.append(statement)
                return
        self._sql(statement)

    def close(self) -> None:
        data = self.folder / "data"
        if data.exists():
            subprocess.run(
                ["runuser", "-u", "postgres", "--", str(server_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"], capture_output=True, timeout=COMMAND_TIMEOUT_SECONDS
            )
