"""A real RELP receiver over TLS on 127.0.0.1 for the tests: Debian's rsyslogd (imrelp), unprivileged config.

    with SyslogReceiver(tmp_path, host_name="logs.test") as receiver:
        receiver.port                 # where it listens (127.0.0.1)
        receiver.ca_certificate       # PEM of the CA that signed its certificate (for logDestinationCa)
        receiver.wait_for("needle", timeout=30)   # the received line holding it, and when it arrived
        receiver.stop(); receiver.start()         # an outage, and the destination's return (same port)

It is the kind of receiver a stack's ``logDestination`` names: RELP over TLS (librelp
through OpenSSL), a server certificate issued for ``host_name`` by a CA made here; it
does not ask for the sender's certificate. It writes every message as received
(``%rawmsg%``) to ``messages.log``, one a line, so a test reads what the sender really
sent. Its main queue is direct: imrelp acknowledges a line only once the file action
has written it, so "acknowledged" means "in messages.log". Its own config, work
directory and pid file under ``root``; it needs no privilege (the port is > 1024).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"


def available() -> bool:
    """rsyslogd with its RELP modules (rsyslog-relp), and openssl to make the certificates."""
    return Path(RSYSLOGD).exists() and any(Path("/usr/lib").glob("*/rsyslog/imrelp.so")) and shutil.which("openssl") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SyslogReceiver:
    def __init__(self, root: Path, *, host_name: str = "localhost"):
        self.root = root
        self.host_name = host_name
        self.port = free_port()
        self.messages = root / "messages.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> SyslogReceiver:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "work").mkdir(exist_ok=True)
        key, cert = self._make_certificates()
        self.config = self.root / "receiver.conf"
        self.config.write_text(
            f"""global(workDirectory="{self.root / "work"}")
main_queue(queue.type="Direct")
module(load="imrelp" tls.tlslib="openssl")
input(type="imrelp" address="127.0.0.1" port="{self.port}" tls="on"
      tls.caCert="{self.ca_file}" tls.myCert="{cert}" tls.myPrivKey="{key}")
template(name="raw" type="string" string="%rawmsg%\\n")
action(type="omfile" file="{self.messages}" template="raw" flushOnTXEnd="on" asyncWriting="off")
"""
        )
        check = subprocess.run([RSYSLOGD, "-N1", "-f", str(self.config)], capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            raise RuntimeError(f"receiver config refused: {check.stderr}")
        self.start()
        return self

    def _make_certificates(self) -> tuple[Path, Path]:
        ca_key, self.ca_file = self.root / "ca.key", self.root / "ca.crt"
        key, request, cert = self.root / "server.key", self.root / "server.csr", self.root / "server.crt"
        extensions = self.root / "server.ext"
        extensions.write_text(f"subjectAltName=DNS:{self.host_name}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
        ca = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", self.ca_file, "-days", "1", "-subj", "/CN=immutable-web test log CA"]
        ca += ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        for command in (
            ca,
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request, "-subj", f"/CN={self.host_name}"],
            ["x509", "-req", "-in", request, "-CA", self.ca_file, "-CAkey", ca_key, "-set_serial", "1", "-days", "1", "-extfile", extensions, "-out", cert],
        ):
            subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True, timeout=60)
        self.ca_certificate = self.ca_file.read_text()
        return key, cert

    def start(self) -> None:
        """Start listening (again, on the same port) and wait until it accepts connections."""
        self.log = (self.root / "rsyslogd.log").open("a")
        self.process = subprocess.Popen([RSYSLOGD, "-n", "-f", str(self.config), "-i", str(self.root / "rsyslogd.pid")], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"the receiver did not listen on 127.0.0.1:{self.port}: {(self.root / 'rsyslogd.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def log_text(self) -> str:
        """The receiver's own messages (refused handshakes, broken sessions, ...)."""
        path = self.root / "rsyslogd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def lines(self) -> list[str]:
        return self.messages.read_text(errors="replace").splitlines() if self.messages.exists() else []

    def wait_for(self, needle: str, timeout: float) -> tuple[str | None, float]:
        """The first received line containing ``needle`` and the monotonic time it was seen (None, now if it never came)."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.lines() if needle in line), None)
            if found is not None or time.monotonic() > deadline:
                return found, time.monotonic()
            time.sleep(0.05)

    def __exit__(self, *exc) -> None:
        self.stop()
