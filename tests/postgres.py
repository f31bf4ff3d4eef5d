"""A real PostgreSQL server for tests: a fresh cluster in a temp dir, on 127.0.0.1, TLS on.

PostgreSQL refuses to run as root, so the server runs as the `postgres` system user
that Debian's postgresql package creates. TLS: a throw-away CA of the test's own
(`ca_file`, `ca_certificate`; its key is deleted once it has signed) signs the
server's certificate, whose subjectAltName carries `host_names` (127.0.0.1 and
localhost, plus e.g. the address a VM reaches it at), so clients connect with
`sslmode=verify-full` and that CA, as the fleet does with the cluster's.
A throw-away cluster needs no durability: initdb skips its fsync (`--no-sync`) and the server
runs with `fsync=off` (a stop is still a clean shutdown; only a machine crash would lose data).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from do_stand_in.certificates import is_address

START_TIMEOUT_SECONDS = 60


def server_bin() -> Path:
    """The newest installed server's bin directory (Debian installs each major under /usr/lib/postgresql/N)."""
    installed = sorted((path for path in Path("/usr/lib/postgresql").glob("*/bin") if (path / "initdb").exists()), key=lambda path: int(path.parent.name))
    return installed[-1] if installed else Path("/usr/lib/postgresql/none/bin")


BIN = server_bin()


def available() -> bool:
    return (BIN / "initdb").exists() and shutil.which("runuser") is not None and shutil.which("openssl") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalPostgres:
    user: str = "hello"
    password: str = "correct-horse-battery"
    database: str = "hello"
    host_names: Sequence[str] = ("127.0.0.1", "localhost")
    """What clients may call the server (IP addresses or DNS names): the certificate's subjectAltName."""
    max_connections: int = 100
    """PostgreSQL's own default; a test of what happens when they run out sets fewer."""

    def __enter__(self) -> LocalPostgres:
        self.root = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        key, cert = self._make_certificates()
        for path in (key, cert):
            shutil.chown(path, "postgres", "postgres")
        key.chmod(0o600)
        self._as_postgres(BIN / "initdb", "-D", str(self.data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
        self.start()
        self.sql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")
        self.sql(f"CREATE DATABASE {self.database} OWNER {self.user}")
        return self

    def _make_certificates(self) -> tuple[Path, Path]:
        """A CA (kept: ``ca_file``; its key deleted) and the server's key and certificate, signed by it."""
        ca_key, self.ca_file = self.root / "ca.key", self.root / "ca.crt"
        key, request, cert = self.root / "server.key", self.root / "server.csr", self.root / "server.crt"
        alt_names = ",".join(f"IP:{name}" if is_address(name) else f"DNS:{name}" for name in self.host_names)
        extensions = self.root / "server.ext"
        extensions.write_text(f"subjectAltName={alt_names}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
        for command in (
            [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                ca_key,
                "-out",
                self.ca_file,
                "-days",
                "1",
                "-subj",
                "/CN=immutable-web test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request, "-subj", f"/CN={self.host_names[0]}"],
            ["x509", "-req", "-in", request, "-CA", self.ca_file, "-CAkey", ca_key, "-set_serial", "1", "-days", "1", "-extfile", extensions, "-out", cert],
        ):
            subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True, timeout=60)
        for path in (ca_key, request, extensions):
            path.unlink()
        self.ca_certificate = self.ca_file.read_text()
        return key, cert

    def start(self) -> None:
        """Start (or restart after ``stop``) the server on the same port, data and certificate."""
        self._as_postgres(
            BIN / "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "start",
            "-o",
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} -c ssl=on "
            f"-c ssl_cert_file={self.root / 'server.crt'} -c ssl_key_file={self.root / 'server.key'} -c fsync=off -c max_connections={self.max_connections}",
        )

    def log_text(self) -> str:
        """The server's log (connections refused, authentication failures, ...)."""
        return (self.root / "log").read_text(errors="replace")

    def _as_postgres(self, *command) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, command)], check=True, capture_output=True, text=True, timeout=120, cwd=self.root)

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement as the superuser, in ``database``; its rows, unaligned (`|` between columns)."""
        return self._as_postgres("psql", "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", statement).stdout

    def stop(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"], capture_output=True, timeout=120)

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def wait_for(predicate, timeout: float, interval: float = 0.05) -> bool:
    """Whether ``predicate`` came true within ``timeout``, asked every ``interval`` (short: a test waits no longer than its condition)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
