"""A load balancer of the ``process`` backend: an HAProxy on the load balancer's own loopback address.

Built from the record: one frontend a forwarding rule (``http``; ``https`` with a certificate of
the stand-in's own CA, since no Let's Encrypt answers here; ``redirect_http_to_https``), one
backend a target port, checked as the health check says (protocol, port, path, interval, response
timeout, healthy and unhealthy thresholds). No retries and no redispatch: a request sent to a
server that refuses or resets it fails for the client, the worst case DigitalOcean does not rule out.

The pool changes at run time through HAProxy's admin socket, so health states and connections
survive a droplet joining or leaving: a new server joins DOWN and takes traffic only once
``healthy_threshold`` checks pass; a leaving server is put in maintenance, its connections are
given a bounded while to finish, then it is deleted.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from do_stand_in.certificates import make_ca, sign_server

START_TIMEOUT_SECONDS = 30
LEAVE_TIMEOUT_SECONDS = 10
COMMAND_TIMEOUT_SECONDS = 10


def render(balancer: dict[str, Any], address: str, admin_socket: Path, certificate: Path | None) -> str:
    check = balancer["health_check"]
    lines = [
        "global",
        f"    stats socket {admin_socket} mode 600 level admin",
        "    maxconn 2000",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 3s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    retries 0",
        "    no option redispatch",
        "",
    ]
    for rule in balancer["forwarding_rules"]:
        secure = rule["entry_protocol"] in ("https", "http2") and certificate is not None
        lines.append(f"frontend entry_{rule['entry_port']}")
        lines.append(f"    bind {address}:{rule['entry_port']}" + (f" ssl crt {certificate}" if secure else ""))
        if balancer["redirect_http_to_https"] and rule["entry_protocol"] == "http":
            lines.append("    http-request redirect scheme https code 308")
        lines += [f"    default_backend pool_{rule['target_port']}", ""]
    for port in sorted({rule["target_port"] for rule in balancer["forwarding_rules"]}):
        lines += [f"backend pool_{port}", "    balance roundrobin"]
        if check["protocol"] in ("http", "https"):
            lines += ["    option httpchk", f"    http-check send meth GET uri {check['path']} ver HTTP/1.1 hdr Host health-check", "    http-check expect status 200"]
        lines += [f"    timeout check {check['response_timeout_seconds']}s", ""]
    return "\n".join(lines) + "\n"


class Balancer:
    def __init__(self, folder: Path, balancer: dict[str, Any], address: str):
        self.folder = folder
        self.address = address
        self.key = balancer["id"]
        self.servers: dict[str, tuple[str, int]] = {}  # server name -> (address, target port)
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.configure(balancer)

    def configure(self, balancer: dict[str, Any]) -> None:
        """(Re)start HAProxy for these rules and this check; the pool is added again by ``set_pool``."""
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.balancer = balancer
        self.admin_socket = self.folder / "admin.sock"
        certificate = None
        if any(rule["entry_protocol"] in ("https", "http2") for rule in balancer["forwarding_rules"]):
            certificate = self._certificate()
        config = self.folder / "haproxy.cfg"
        config.write_text(render(balancer, self.address, self.admin_socket, certificate))
        checked = subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], capture_output=True, text=True, timeout=60)
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy refused the configuration of load balancer {self.key}: {checked.stdout}{checked.stderr}")
        self.admin_socket.unlink(missing_ok=True)
        self._log = (self.folder / "haproxy.log").open("ab")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.admin_socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start for load balancer {self.key}: {(self.folder / 'haproxy.log').read_text()[-2000:]}")
            time.sleep(0.05)
        self.servers = {}

    def _certificate(self) -> Path:
        pem = self.folder / "frontend.pem"
        if not pem.exists():
            ca_key, ca_certificate = make_ca(self.folder, "do-stand-in load balancer CA")
            key, certificate = sign_server(self.folder, ca_key, ca_certificate, [self.address, "localhost"])
            pem.write_text(certificate.read_text() + key.read_text())
            pem.chmod(0o600)
        return pem

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(COMMAND_TIMEOUT_SECONDS)
            connection.connect(str(self.admin_socket))
            connection.sendall(line.encode() + b"\n")
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        return answer.decode(errors="replace").strip()

    def set_pool(self, members: dict[str, str]) -> None:
        """``members``: droplet id -> address; each target port's pool becomes exactly these droplets."""
        check = self.balancer["health_check"]
        wanted = {(f"droplet-{key}", address, rule["target_port"]) for key, address in members.items() for rule in self.balancer["forwarding_rules"]}
        wanted_names = {f"pool_{port}/{name}": (address, port) for name, address, port in wanted}
        for name in [name for name in self.servers if name not in wanted_names]:
            self._leave(name)
        options = f"check port {check['port']} inter {check['check_interval_seconds']}s rise {check['healthy_threshold']} fall {check['unhealthy_threshold']}"
        for name, (address, port) in wanted_names.items():
            if name not in self.servers:
                self._join(name, address, port, options)

    def _join(self, name: str, address: str, port: int, options: str) -> None:
        # Weight 0 while it is made DOWN: no request reaches it before its checks have passed.
        answer = self.command(f"add server {name} {address}:{port} weight 0 {options}")
        if "New server registered" not in answer:
            raise RuntimeError(f"haproxy refused server {name}: {answer}")
        for line in (f"enable health {name}", f"set server {name} state ready", f"set server {name} health down", f"set weight {name} 1"):
            if answer := self.command(line):
                raise RuntimeError(f"haproxy: {line}: {answer}")
        self.servers[name] = (address, port)

    def _leave(self, name: str) -> None:
        self.command(f"set server {name} state maint")
        # HAProxy deletes a server only once its connections are done: they get a bounded while, then are cut.
        deleted = False
        deadline = time.monotonic() + LEAVE_TIMEOUT_SECONDS
        while not deleted and time.monotonic() < deadline:
            deleted = "Server deleted" in self.command(f"del server {name}")
            if not deleted:
                time.sleep(0.1)
        if not deleted:
            self.command(f"shutdown sessions server {name}")
            self.command(f"del server {name}")
        self.servers.pop(name, None)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
