"""A real load balancer on 127.0.0.1 standing in for DigitalOcean's: HAProxy, configured from the program's own inputs.

    with LocalLoadBalancer.from_inputs(lb_resource.inputs) as lb:
        lb.add("fleet-0", 127.0.0.1, 40123)     # a droplet carrying the fleet tag appears
        lb.state("fleet-0")                     # 'UP' / 'DOWN' / 'MAINT' as its health check says
        lb.remove("fleet-0")                    # the droplet is gone

What is taken from the LoadBalancer resource the program declares: the health
check's path, interval, response timeout, healthy and unhealthy thresholds,
and the target port's protocol (HTTP). What is assumed, the worst case where
DigitalOcean documents nothing:

* a new server takes traffic only after `healthy_threshold` passing checks
  (it enters the pool DOWN, as a droplet whose checks have not yet run);
* no retry and no redispatch: a request sent to a server that refuses or
  resets the connection fails for the client (`retries 0`);
* a server stays in the pool until it is deleted, however its checks go.

Servers come and go through HAProxy's runtime API (a UNIX socket), as droplets
join and leave the fleet tag, without restarting the balancer. Every wait is
bounded; HAProxy listens on 127.0.0.1 only.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BACKEND = "fleet"
START_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class HealthCheckSettings:
    path: str
    interval_seconds: int
    timeout_seconds: int
    healthy_threshold: int
    unhealthy_threshold: int

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> HealthCheckSettings:
        """From a `digitalocean:index/loadBalancer:LoadBalancer` resource's recorded inputs."""
        check = inputs["healthcheck"]
        if check.get("protocol") != "http":
            raise ValueError(f"the stand-in balancer checks over http; the program asks for {check.get('protocol')!r}")
        return cls(
            path=check["path"],
            interval_seconds=int(check["checkIntervalSeconds"]),
            timeout_seconds=int(check["responseTimeoutSeconds"]),
            healthy_threshold=int(check["healthyThreshold"]),
            unhealthy_threshold=int(check["unhealthyThreshold"]),
        )

    def server_options(self) -> str:
        # Dynamic servers do not inherit `default-server`: every option is given per server.
        return f"check inter {self.interval_seconds}s rise {self.healthy_threshold} fall {self.unhealthy_threshold}"


def render_config(check: HealthCheckSettings, *, port: int, admin_socket: Path) -> str:
    """haproxy.cfg: one frontend on 127.0.0.1:port, one backend whose servers are added at run time."""
    return f"""global
    stats socket {admin_socket} mode 600 level admin
    # Dynamic servers need these to be allowed in the backend at run time.
    maxconn 2000

defaults
    mode http
    timeout connect 3s
    timeout client 30s
    timeout server 30s
    # The worst case for an undocumented balancer: a refused or reset connection is the client's error.
    retries 0
    no option redispatch

frontend entry
    bind 127.0.0.1:{port}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk
    http-check send meth GET uri {check.path} ver HTTP/1.1 hdr Host health-check
    http-check expect status 200
    timeout check {check.timeout_seconds}s
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalLoadBalancer:
    def __init__(self, check: HealthCheckSettings):
        self.check = check
        self.process: subprocess.Popen | None = None

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> LocalLoadBalancer:
        return cls(HealthCheckSettings.from_inputs(inputs))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalLoadBalancer:
        self.workdir = Path(tempfile.mkdtemp(prefix="haproxy-"))
        self.admin_socket = self.workdir / "admin.sock"
        self.port = free_port()
        config = self.workdir / "haproxy.cfg"
        config.write_text(render_config(self.check, port=self.port, admin_socket=self.admin_socket))
        checked = subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], capture_output=True, text=True, timeout=60)
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy refused its config:\n{checked.stdout}{checked.stderr}")
        self.log = (self.workdir / "haproxy.log").open("w")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.admin_socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start: {(self.workdir / 'haproxy.log').read_text()[-2000:]}")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- the runtime API --------------------------------------------------

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.admin_socket))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace").strip()

    def add(self, name: str, address: str, port: int) -> None:
        """A server joins the pool DOWN; it takes traffic once `healthy_threshold` checks pass."""
        # Weight 0 until its health is forced down: it cannot take a request before its checks have run.
        answer = self.command(f"add server {BACKEND}/{name} {address}:{port} weight 0 {self.check.server_options()}")
        if "New server registered" not in answer:
            raise RuntimeError(f"haproxy refused server {name}: {answer}")
        steps = (
            f"enable health {BACKEND}/{name}",
            f"set server {BACKEND}/{name} state ready",
            f"set server {BACKEND}/{name} health down",
            f"set weight {BACKEND}/{name} 1",
        )
        for line in steps:
            answer = self.command(line)
            if answer:
                raise RuntimeError(f"haproxy: {line}: {answer}")

    def remove(self, name: str) -> None:
        """The server leaves the pool (its droplet is deleted)."""
        self.command(f"set server {BACKEND}/{name} state maint")
        self.command(f"shutdown sessions server {BACKEND}/{name}")
        answer = self.command(f"del server {BACKEND}/{name}")
        if "Server deleted" not in answer:
            raise RuntimeError(f"haproxy could not delete server {name}: {answer}")

    def states(self) -> dict[str, str]:
        """Server name -> 'UP', 'DOWN', 'MAINT', ... (what the health checks decided)."""
        lines = self.command(f"show servers state {BACKEND}").splitlines()
        # Format 1: "be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ..."
        states = {}
        names = {0: "STOPPED", 1: "STARTING", 2: "UP", 3: "STOPPING"}
        for line in lines[2:]:
            fields = line.split()
            if len(fields) > 6 and not line.startswith("#"):
                operational, admin = int(fields[5]), int(fields[6])
                states[fields[3]] = "MAINT" if admin & 0x01 or admin & 0x20 else ("DOWN" if operational == 0 else names.get(operational, "?"))
        return states

    def wait_for_state(self, name: str, state: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.states().get(name) == state:
                return True
            time.sleep(0.5)
        return False
