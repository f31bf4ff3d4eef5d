"""The health gate against real HTTP servers on 127.0.0.1 that play a load balancer round-robining over droplets.

Each fake droplet is a function of its request count returning (status, version);
the fake balancer answers each request from the next droplet in turn, as a
DigitalOcean load balancer does. The gate runs as a subprocess, as Pulumi runs it.
"""

from __future__ import annotations

import itertools
import json
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools.health_gate import Gate, Observation, run

GATE = Path(__file__).resolve().parents[2] / "tools" / "health_gate.py"

Droplet = Callable[[int], tuple[int, str]]


def healthy(version: str = "1.4.2") -> Droplet:
    return lambda n: (200, version)


def unhealthy(version: str = "1.4.2") -> Droplet:
    return lambda n: (503, version)


def flapping(version: str = "1.4.2") -> Droplet:
    return lambda n: (200 if n % 2 == 0 else 503, version)


class FakeBalancer:
    """A threaded HTTP server on 127.0.0.1 answering /healthz from droplets in turn."""

    def __init__(self, droplets: dict[str, Droplet], delay: float = 0.0, tls: ssl.SSLContext | None = None):
        names = itertools.cycle(list(droplets))
        counts = {name: 0 for name in droplets}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with lock:
                    name = next(names)
                    n = counts[name]
                    counts[name] += 1
                if delay:
                    time.sleep(delay)
                status, version = droplets[name](n)
                body = json.dumps({"status": "ok" if status == 200 else "unhealthy", "version": version, "hostname": name, "database": status == 200}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the gate gave up on a slow answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeBalancer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def gate(url: str, hosts: list[str], *extra: str, timeout: float = 3) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(GATE), "--url", url, "--expect-version", "1.4.2", "--expect-hosts", ",".join(hosts), "--timeout", str(timeout), "--interval", "0.05", "--request-timeout", "1", *extra],
        capture_output=True,
        text=True,
        timeout=timeout + 30,
    )
    return result, time.monotonic() - start


def summary(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_all_new_droplets_healthy_passes_quickly():
    with FakeBalancer({"new-0": healthy(), "new-1": healthy()}) as lb:
        result, elapsed = gate(f"http://127.0.0.1:{lb.port}/healthz", ["new-0", "new-1"], timeout=20)
    assert result.returncode == 0, result.stderr
    assert summary(result)["healthy"] is True and summary(result)["missing"] == []
    assert elapsed < 15


def test_never_healthy_fails_at_the_deadline_with_a_summary():
    with FakeBalancer({"new-0": unhealthy(), "new-1": unhealthy()}) as lb:
        result, elapsed = gate(f"http://127.0.0.1:{lb.port}/healthz", ["new-0", "new-1"], timeout=2)
    assert result.returncode == 1
    assert "FAILED" in result.stderr and "new-0 (new)" in result.stderr and "last status 503" in result.stderr
    assert summary(result)["missing"] == ["new-0", "new-1"]
    assert 2 <= elapsed < 2 + 10  # the deadline, plus one request and process start


def test_old_fleet_only_with_the_old_version_fails():
    with FakeBalancer({"old-0": healthy("1.4.1"), "old-1": healthy("1.4.1")}) as lb:
        result, _ = gate(f"http://127.0.0.1:{lb.port}/healthz", ["new-0"], timeout=2)
    assert result.returncode == 1
    assert summary(result)["other_answers"] > 0 and summary(result)["missing"] == ["new-0"]


def test_new_droplet_answering_the_old_version_does_not_pass():
    with FakeBalancer({"new-0": healthy("1.4.1")}) as lb:
        result, _ = gate(f"http://127.0.0.1:{lb.port}/healthz", ["new-0"], timeout=2)
    assert result.returncode == 1 and "last version 1.4.1" in result.stderr


def test_flapping_droplet_never_passes_with_two_in_a_row_required():
    with FakeBalancer({"new-0": flapping()}) as lb:
        result, _ = gate(f"http://127.0.0.1:{lb.port}/healthz", ["new-0"], timeout=2)
    assert result.returncode == 1
    host = summary(result)["hosts"]["new-0"]
    assert host["healthy"] >= 2, "it was healthy often enough; it is the unsteadiness that fails it"


def test_flapping_droplet_passes_when_one_success_suffices():
    """The other side of the rule: with --min-successes 1, one healthy answer from every host passes."""
    with FakeBalancer({"new-0": flapping()}) as lb:
        result, _ = gate(f"http://127.0.0.1:{lb.port}/healthz", ["new-0"], "--min-successes", "1", timeout=5)
    assert result.returncode == 0, result.stderr


def test_slow_answers_count_as_errors_and_the_deadline_holds():
    with FakeBalancer({"new-0": healthy()}, delay=3) as lb:
        result, elapsed = gate(f"http://127.0.0.1:{lb.port}/healthz", ["new-0"], timeout=2)
    assert result.returncode == 1
    assert summary(result)["errors"] >= 1
    assert elapsed < 2 + 1 + 10  # deadline + one request timeout + process start


def test_a_missing_host_is_named():
    with FakeBalancer({"new-0": healthy()}) as lb:
        result, _ = gate(f"http://127.0.0.1:{lb.port}/healthz", ["new-0", "new-1"], timeout=2)
    assert result.returncode == 1 and summary(result)["missing"] == ["new-1"]
    assert "not healthy: new-1" in result.stderr


def test_old_fleet_answers_mixed_in_still_pass_once_new_hosts_are_healthy():
    with FakeBalancer({"old-0": healthy("1.4.1"), "new-0": healthy(), "old-1": unhealthy("1.4.1"), "new-1": healthy()}) as lb:
        result, _ = gate(f"http://127.0.0.1:{lb.port}/healthz", ["new-0", "new-1"], timeout=20)
    assert result.returncode == 0, result.stderr
    assert summary(result)["other_answers"] >= 1


def test_nothing_listening_fails_with_connection_errors():
    with FakeBalancer({"x": healthy()}) as lb:
        port = lb.port
    result, _ = gate(f"http://127.0.0.1:{port}/healthz", ["new-0"], timeout=1)
    assert result.returncode == 1 and summary(result)["errors"] >= 1


@pytest.fixture
def tls_files(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=app.test", "-addext", "subjectAltName=DNS:app.test"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return key, cert


def test_https_with_resolve_connects_to_the_ip_and_verifies_the_name(tls_files):
    key, cert = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with FakeBalancer({"new-0": healthy()}, tls=context) as lb:
        url = f"https://app.test:{lb.port}/healthz"
        ok, _ = gate(url, ["new-0"], "--resolve", "app.test:127.0.0.1", "--cacert", str(cert), timeout=10)
        untrusted, _ = gate(url, ["new-0"], "--resolve", "app.test:127.0.0.1", timeout=2)
    assert ok.returncode == 0, ok.stderr
    assert untrusted.returncode == 1, "a certificate the gate cannot verify must not pass"


def test_bad_arguments_exit_2():
    result = subprocess.run([sys.executable, str(GATE), "--url", "ftp://x", "--expect-version", "1", "--expect-hosts", "a"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    result = subprocess.run([sys.executable, str(GATE), "--url", "http://x", "--expect-version", "1"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--expect-host" in result.stderr


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rule_needs_every_host_and_a_steady_end():
    gate_ = Gate(expected_hosts=frozenset({"a", "b"}), expected_version="2")
    for observation in [Observation(200, "a", "2"), Observation(200, "a", "2"), Observation(200, "b", "2")]:
        gate_.observe(observation)
    assert not gate_.passed(), "b has answered healthy only once"
    gate_.observe(Observation(503, "b", "2"))
    gate_.observe(Observation(200, "b", "2"))
    assert not gate_.passed(), "the last two answers were not both healthy"
    gate_.observe(Observation(200, "a", "2"))
    assert gate_.passed()


def test_run_loop_is_bounded_by_the_deadline():
    clock = FakeClock()
    polls = []

    def probe() -> Observation:
        polls.append(clock.now)
        return Observation(503, "a", "2")

    passed = run(Gate(frozenset({"a"}), "2"), probe, timeout=30, interval=2, clock=clock, sleep=clock.sleep, log=lambda line: None)
    assert not passed and clock.now <= 30 and len(polls) == 16  # at 0, 2, ..., 30 s
