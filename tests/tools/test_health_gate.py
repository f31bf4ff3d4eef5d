"""The health gate against real HTTP servers on 127.0.0.1 that play a load balancer round-robining over droplets.

Each fake droplet is a function of its request count returning (status, version);
the fake balancer answers each request from the next droplet in turn, as a
DigitalOcean load balancer does.

Two ways to run the gate against them:
- `gate(...)`: a subprocess, as Pulumi runs it, on the real clock: the command line,
  the deadline, the request timeout, a few end-to-end runs;
- `decide(...)`: the gate's own functions in this process, on a fake clock that moves
  only by the gate's sleeps: the rule on real HTTP answers, a fixed number of polls
  whatever the machine's load, in milliseconds.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools.health_gate import Gate, Observation, Target, _tls_context, main, parse_args, poll, print_failure, run

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

    def __init__(self, droplets: dict[str, Droplet], delay: float = 0.0, trickle: bool = False, tls: ssl.SSLContext | None = None, hostnames: dict[str, str] | None = None):
        """``droplets``: instance id -> answers; ``delay``: seconds before each answer; ``trickle``: send the headers,
        then one byte of the body every 0.2 s; ``hostnames``: instance id -> the hostname it reports (default: the id)."""
        hostnames = dict(hostnames or {})
        names = itertools.cycle(list(droplets))
        counts = {name: 0 for name in droplets}
        lock = threading.Lock()
        self.stopping = stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    name = next(names)
                    n = counts[name]
                    counts[name] += 1
                if delay and stopping.wait(delay):
                    return
                status, version = droplets[name](n)
                body = json.dumps({"status": "ok" if status == 200 else "unhealthy", "version": version, "instance": name, "hostname": hostnames.get(name, name), "database": status == 200}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if trickle:
                        for byte in body:
                            if stopping.wait(0.2):
                                return
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
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
        # A short poll interval: shutdown() waits up to one of them.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeBalancer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def gate(url: str, hosts: list[str], *extra: str, timeout: float = 3) -> tuple[subprocess.CompletedProcess, float]:
    """The gate as Pulumi runs it: a subprocess, on the real clock."""
    start = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            str(GATE),
            "--url",
            url,
            "--expect-version",
            "1.4.2",
            "--expect-instances",
            ",".join(hosts),
            "--timeout",
            str(timeout),
            "--interval",
            "0.05",
            "--request-timeout",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=timeout + 30,
    )
    return result, time.monotonic() - start


def summary(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Decision:
    returncode: int
    report: dict
    stderr: str


# Per poll in `decide`: an answer from a server in this process, even on a loaded machine.
DECIDE_REQUEST_TIMEOUT = 10


def decide(url: str, hosts: list[str], *extra: str, polls: int = 20) -> Decision:
    """The gate's decision on at most ``polls`` real answers from the balancer, in this process.

    What main() does (parse_args, the TLS context, Gate, run, print_failure), with two
    differences: the clock is fake and moves only by the gate's own sleeps, so a failing run
    is exactly ``polls`` polls long; and every poll gets the full request timeout, where
    main() cuts the last one to the time left (test_run_loop_cuts_the_last_request_to_the_time_left
    checks the cut). So no answer is lost to timing, and the counts below are exact.
    """
    args = parse_args(["--url", url, "--expect-version", "1.4.2", "--expect-instances", ",".join(hosts), "--interval", "1", "--timeout", str(polls - 1), *extra])
    target = Target(url=args.url, resolve_address=args.resolve_address, tls=_tls_context(args))
    gate_ = Gate(expected_instances=args.instances, expected_version=args.expect_version, min_successes=args.min_successes)
    clock = FakeClock()
    log: list[str] = []
    healthy = run(
        gate_, lambda limit: poll(target, DECIDE_REQUEST_TIMEOUT), timeout=args.timeout, interval=args.interval, request_timeout=args.request_timeout, clock=clock, sleep=clock.sleep, log=log.append
    )
    report = gate_.summary(clock.now)
    failure = io.StringIO()
    if not healthy:
        with contextlib.redirect_stderr(failure):
            print_failure(report)
    return Decision(0 if healthy else 1, report, "\n".join(log) + "\n" + failure.getvalue())


@pytest.fixture
def balancer():
    """Start FakeBalancers on 127.0.0.1; every one is shut down at teardown, whatever the test did."""
    started: list[FakeBalancer] = []

    def start(droplets: dict[str, Droplet], **options) -> FakeBalancer:
        lb = FakeBalancer(droplets, **options).__enter__()
        started.append(lb)
        return lb

    yield start
    for lb in started:
        lb.__exit__(None, None, None)


def url(lb: FakeBalancer) -> str:
    return f"http://127.0.0.1:{lb.port}/healthz"


# A bound on the gate's run time: its --timeout, plus one --request-timeout (1 s
# here), plus process start. It checks the gate stops by itself, not its speed.
MARGIN = 10


# --- The command line, on the real clock.


def test_all_new_droplets_healthy_passes_quickly(balancer):
    lb = balancer({"new-0": healthy(), "new-1": healthy()})
    result, elapsed = gate(url(lb), ["new-0", "new-1"], timeout=20)
    assert result.returncode == 0, result.stderr
    report = summary(result)
    assert report["healthy"] is True and report["missing"] == []
    assert report["instances"]["new-0"]["healthy"] >= 2 and report["instances"]["new-1"]["healthy"] >= 2
    assert "instance new-0 (new-0) answered healthy" in result.stderr and "healthy after" in result.stderr
    assert elapsed < 20, "it passed well before its deadline"


def test_never_healthy_fails_at_the_deadline_with_a_summary(balancer):
    lb = balancer({"new-0": unhealthy(), "new-1": unhealthy()})
    # 2 s: time for both instances to answer at least once on a loaded machine (1 s was sometimes one answer).
    result, elapsed = gate(url(lb), ["new-0", "new-1"], timeout=2)
    assert result.returncode == 1
    assert "FAILED" in result.stderr
    assert "instance new-0 (new-0, new):" in result.stderr and "instance new-1 (new-1, new):" in result.stderr
    assert "last status 503" in result.stderr and "last version 1.4.2" in result.stderr
    assert "connection errors (refused, reset, timed out, or no instance id in the answer): " in result.stderr
    report = summary(result)
    assert report["healthy"] is False and report["missing"] == ["new-0", "new-1"]
    assert report["instances"]["new-0"]["answers"] >= 1 and report["instances"]["new-0"]["healthy"] == 0
    # The 503s are answers, never errors. The gate cuts its last request to the time left, so on
    # a loaded machine that one may time out: the only error there can be (exactly 0: decide() below).
    assert set(report["error_kinds"]) <= {"request timed out"}, report["error_kinds"]
    assert 2 <= elapsed < 2 + MARGIN


def test_slow_answers_count_as_errors_and_the_deadline_holds(balancer):
    lb = balancer({"new-0": healthy()}, delay=3)
    result, elapsed = gate(url(lb), ["new-0"], timeout=1)
    assert result.returncode == 1
    assert summary(result)["errors"] >= 1 and "new-0 (new): never answered" in result.stderr
    assert elapsed < 1 + MARGIN


def test_a_trickling_answer_is_cut_at_the_request_timeout(balancer):
    """A byte every 0.2 s keeps every socket read inside a 1 s timeout; the request as a whole must still end."""
    lb = balancer({"new-0": healthy()}, trickle=True)
    result, elapsed = gate(url(lb), ["new-0"], timeout=2)
    assert result.returncode == 1
    report = summary(result)
    assert report["error_kinds"].get("request timed out", 0) >= 2, report
    assert elapsed < 2 + MARGIN


def test_hosts_given_one_by_one_or_joined_are_the_same(balancer):
    lb = balancer({"new-0": healthy(), "new-1": healthy()})
    result = subprocess.run(
        [sys.executable, str(GATE), "--url", url(lb), "--expect-version", "1.4.2", "--expect-instance", "new-0", "--expect-instance", "new-1", "--timeout", "10", "--interval", "0.05"],
        capture_output=True,
        text=True,
        timeout=40,
    )
    assert result.returncode == 0, result.stderr
    assert set(summary(result)["instances"]) == {"new-0", "new-1"}


# --- The rule on real answers, in this process (decide).


def test_unhealthy_answers_are_answers_not_errors(balancer):
    lb = balancer({"new-0": unhealthy(), "new-1": unhealthy()})
    decision = decide(url(lb), ["new-0", "new-1"], polls=20)
    assert decision.returncode == 1 and decision.report["missing"] == ["new-0", "new-1"]
    assert decision.report["instances"]["new-0"]["answers"] == 10 and decision.report["instances"]["new-1"]["answers"] == 10
    assert decision.report["errors"] == 0 and "connection errors (refused, reset, timed out, or no instance id in the answer): 0" in decision.stderr


def test_old_fleet_only_with_the_old_version_fails(balancer):
    lb = balancer({"old-0": healthy("1.4.1"), "old-1": healthy("1.4.1")})
    decision = decide(url(lb), ["new-0"])
    assert decision.returncode == 1
    report = decision.report
    assert report["other_answers"] > 0 and report["missing"] == ["new-0"]
    assert report["instances"]["old-0"]["expected"] is False and report["instances"]["old-0"]["last_version"] == "1.4.1"
    assert "instance new-0 (new): never answered" in decision.stderr and "instance old-0 (old-0, other)" in decision.stderr


def test_new_droplet_answering_the_old_version_does_not_pass(balancer):
    lb = balancer({"new-0": healthy("1.4.1")})
    decision = decide(url(lb), ["new-0"])
    assert decision.returncode == 1 and "last version 1.4.1" in decision.stderr
    assert decision.report["instances"]["new-0"]["healthy"] == 0


def test_flapping_droplet_never_passes_with_two_in_a_row_required(balancer):
    lb = balancer({"new-0": flapping()})
    decision = decide(url(lb), ["new-0"])
    assert decision.returncode == 1
    host = decision.report["instances"]["new-0"]
    assert host["healthy"] >= 2, "it was healthy often enough; it is the unsteadiness that fails it"
    assert host["healthy_in_a_row"] <= 1


def test_flapping_droplet_beside_a_healthy_one_still_fails(balancer):
    """The streak is per host: new-0's steady answers cannot carry new-1 (A200 B200 A200 B503 A200 B200 ... looks fine overall)."""
    lb = balancer({"new-0": healthy(), "new-1": flapping()})
    decision = decide(url(lb), ["new-0", "new-1"])
    assert decision.returncode == 1
    assert decision.report["missing"] == ["new-1"] and decision.report["instances"]["new-1"]["healthy"] >= 2


def test_flapping_droplet_passes_when_one_success_suffices(balancer):
    """The other side of the rule: with --min-successes 1, one healthy answer from every host passes."""
    lb = balancer({"new-0": flapping(), "new-1": flapping()})
    decision = decide(url(lb), ["new-0", "new-1"], "--min-successes", "1")
    assert decision.returncode == 0, decision.stderr


def test_droplet_that_recovers_passes_once_steady(balancer):
    """Booting: unhealthy for its first answers, then steady. A failure only restarts the host's streak."""
    lb = balancer({"new-0": lambda n: (503 if n < 3 else 200, "1.4.2"), "new-1": healthy()})
    decision = decide(url(lb), ["new-0", "new-1"])
    assert decision.returncode == 0, decision.stderr
    assert decision.report["instances"]["new-0"]["answers"] >= 5


def test_a_missing_host_is_named(balancer):
    lb = balancer({"new-0": healthy()})
    decision = decide(url(lb), ["new-0", "new-1"])
    assert decision.returncode == 1 and decision.report["missing"] == ["new-1"]
    failed = next(line for line in decision.stderr.splitlines() if "FAILED" in line)
    assert failed.endswith(": new-1") and "new-1 (new): never answered" in decision.stderr


def test_old_fleet_answers_mixed_in_still_pass_once_new_hosts_are_healthy(balancer):
    lb = balancer({"old-0": healthy("1.4.1"), "new-0": healthy(), "old-1": unhealthy("1.4.1"), "new-1": healthy()})
    decision = decide(url(lb), ["new-0", "new-1"])
    assert decision.returncode == 0, decision.stderr
    report = decision.report
    assert report["other_answers"] >= 2 and report["instances"]["old-1"]["last_status"] == 503


def test_old_generation_with_the_same_names_and_version_never_passes(balancer):
    """A config-only change keeps names, image and version: only the instance ids differ.

    The old droplets answer healthy under the very hostnames the new ones carry; the new
    ones are broken. The gate must wait for the new ids and fail.
    """
    lb = balancer(
        {"100": healthy(), "101": healthy(), "200": unhealthy(), "201": unhealthy()},
        hostnames={"100": "hello-staging-0", "101": "hello-staging-1", "200": "hello-staging-0", "201": "hello-staging-1"},
    )
    decision = decide(url(lb), ["200", "201"])
    assert decision.returncode == 1, decision.stderr
    report = decision.report
    assert report["missing"] == ["200", "201"] and report["other_answers"] >= 4
    assert report["instances"]["100"]["healthy"] == 0, "answers from instances this update did not create are never counted"


def test_nothing_listening_fails_with_connection_errors(balancer):
    lb = balancer({"x": healthy()})
    lb.__exit__(None, None, None)  # the port is now closed
    decision = decide(url(lb), ["new-0"], polls=3)
    assert decision.returncode == 1
    assert decision.report["error_kinds"].get("ConnectionRefusedError", 0) >= 1


def test_the_body_is_never_echoed(balancer):
    """Only instance, hostname, version and status are read from the body, shortened and printable."""
    lb = balancer({"new-0": lambda n: (200, "1.4.2\n" + "x" * 5000)})
    decision = decide(url(lb), ["new-0"])
    assert decision.returncode == 1
    assert "x" * 65 not in decision.stderr + json.dumps(decision.report)
    assert decision.report["instances"]["new-0"]["last_version"] == "1.4.2" + "x" * 59


# --- https with --resolve against a local TLS server with a self-signed certificate.


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """One self-signed certificate for app.test, made once for the module (a key takes a moment)."""
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=app.test", "-addext", "subjectAltName=DNS:app.test"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return key, cert


@pytest.fixture
def tls_balancer(balancer, tls_files):
    key, cert = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return balancer({"new-0": healthy()}, tls=context), cert


def test_https_with_resolve_connects_to_the_ip_and_verifies_the_name(tls_balancer):
    lb, cert = tls_balancer
    # app.test does not resolve: only --resolve gets the gate to 127.0.0.1.
    result, _ = gate(f"https://app.test:{lb.port}/healthz", ["new-0"], "--resolve", "app.test:127.0.0.1", "--cacert", str(cert), timeout=10)
    assert result.returncode == 0, result.stderr


def test_https_untrusted_certificate_fails_unless_insecure(tls_balancer):
    lb, _ = tls_balancer
    https_url = f"https://app.test:{lb.port}/healthz"
    untrusted = decide(https_url, ["new-0"], "--resolve", "app.test:127.0.0.1", polls=3)
    assert untrusted.returncode == 1, "a certificate the gate cannot verify must not pass"
    assert untrusted.report["error_kinds"].get("SSLCertVerificationError", 0) >= 1
    insecure = decide(https_url, ["new-0"], "--resolve", "app.test:127.0.0.1", "--insecure")
    assert insecure.returncode == 0, insecure.stderr


def test_https_certificate_for_another_name_fails(tls_balancer):
    """--resolve sends the URL's name for SNI and the check: a certificate for app.test does not serve other.test."""
    lb, cert = tls_balancer
    decision = decide(f"https://other.test:{lb.port}/healthz", ["new-0"], "--resolve", "other.test:127.0.0.1", "--cacert", str(cert), polls=3)
    assert decision.returncode == 1 and decision.report["errors"] >= 1


BAD_ARGUMENTS = [
    (["--url", "ftp://x/healthz", "--expect-version", "1", "--expect-instances", "a"], "--url"),
    (["--url", "http://x/healthz", "--expect-version", "1"], "--expect-instance"),
    (["--url", "http://x/healthz", "--expect-version", "1", "--expect-instances", " , "], "--expect-instance"),
    (["--url", "http://x/healthz", "--expect-version", "1", "--expect-instances", "a", "--timeout", "0"], "--timeout"),
    (["--url", "http://x/healthz", "--expect-version", "1", "--expect-instances", "a", "--interval", "nan"], "--interval"),
    (["--url", "http://x/healthz", "--expect-version", "1", "--expect-instances", "a", "--min-successes", "0"], "--min-successes"),
    (["--url", "https://a.test/healthz", "--expect-version", "1", "--expect-instances", "a", "--resolve", "a.test"], "--resolve"),
    (["--url", "https://a.test/healthz", "--expect-version", "1", "--expect-instances", "a", "--resolve", "b.test:127.0.0.1"], "--resolve"),
    (["--url", "http://a.test/healthz", "--expect-version", "1", "--expect-instances", "a", "--insecure"], "--insecure"),
    (["--url", "https://a.test/healthz", "--expect-version", "1", "--expect-instances", "a", "--cacert", "/nonexistent.pem"], "--cacert"),
    # Malformed URLs: an unclosed IPv6 bracket (urlsplit raises), a port out of range or zero (read only at the first poll).
    (["--url", "http://[::1/healthz", "--expect-version", "1", "--expect-instances", "a"], "--url"),
    (["--url", "http://127.0.0.1:99999/healthz", "--expect-version", "1", "--expect-instances", "a"], "port from 1 to 65535"),
    (["--url", "http://127.0.0.1:0/healthz", "--expect-version", "1", "--expect-instances", "a"], "port from 1 to 65535"),
    (["--url", "http://127.0.0.1:port/healthz", "--expect-version", "1", "--expect-instances", "a"], "--url"),
]


@pytest.mark.parametrize("arguments, complaint", BAD_ARGUMENTS)
def test_bad_arguments_exit_2(arguments, complaint, capsys):
    assert main(arguments) == 2
    out, err = capsys.readouterr()
    assert complaint in err and out == ""


@pytest.mark.parametrize("arguments, complaint", [BAD_ARGUMENTS[0], BAD_ARGUMENTS[-4], BAD_ARGUMENTS[-3]])
def test_bad_arguments_exit_2_from_the_command_line(arguments, complaint):
    result = subprocess.run([sys.executable, str(GATE), *arguments], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert complaint in result.stderr and result.stdout == "" and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if not line.startswith(("usage:", " "))] == [f"health_gate.py: error: {result.stderr.split('error: ', 1)[1].strip()}"], result.stderr


# --- The rule and the loop, without sockets.


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def observe_all(gate_: Gate, answers: list[tuple[str, int, str]]) -> Gate:
    for host, status, version in answers:
        gate_.observe(Observation(status, host, version, "ok" if status == 200 else "unhealthy"))
    return gate_


def test_rule_needs_every_host_healthy_in_a_row():
    gate_ = observe_all(Gate(frozenset({"a", "b"}), "2"), [("a", 200, "2"), ("a", 200, "2"), ("b", 200, "2")])
    assert not gate_.passed() and gate_.waiting_for() == ["b"], "b has answered healthy only once"
    observe_all(gate_, [("b", 503, "2"), ("b", 200, "2")])
    assert not gate_.passed(), "b failed in between: its streak restarted"
    observe_all(gate_, [("b", 200, "2")])
    assert gate_.passed()


def test_rule_ignores_other_hosts_and_errors():
    gate_ = observe_all(Gate(frozenset({"a"}), "2"), [("a", 200, "2"), ("old", 503, "1"), ("old", 200, "1")])
    gate_.observe(Observation(None, error="TimeoutError"))
    gate_.observe(Observation(503, error="HTTP 503, not JSON"))
    observe_all(gate_, [("a", 200, "2")])
    assert gate_.passed()
    report = gate_.summary(1.0)
    assert report["other_answers"] == 2 and report["errors"] == 2
    assert report["error_kinds"] == {"HTTP 503, not JSON": 1, "TimeoutError": 1}


def test_rule_needs_the_version_and_the_ok_status():
    gate_ = Gate(frozenset({"a"}), "2", min_successes=1)
    gate_.observe(Observation(200, "a", "1", "ok"))
    gate_.observe(Observation(200, "a", "2", "degraded"))
    assert not gate_.passed()
    gate_.observe(Observation(200, "a", "2", "ok"))
    assert gate_.passed()


def test_run_loop_is_bounded_by_the_deadline():
    clock = FakeClock()
    limits: list[float] = []

    def probe(limit: float) -> Observation:
        limits.append(limit)
        clock.now += 0.5  # each request takes half a second
        return Observation(503, "a", "2", "unhealthy")

    passed = run(Gate(frozenset({"a"}), "2"), probe, timeout=30, interval=2, request_timeout=5, clock=clock, sleep=clock.sleep, log=lambda line: None)
    assert not passed
    assert 30 <= clock.now <= 30 + 0.5
    assert len(limits) <= 30 / 2 + 1 and all(0 < limit <= 5 for limit in limits)


def test_run_loop_cuts_the_last_request_to_the_time_left():
    clock = FakeClock()
    limits: list[float] = []

    def probe(limit: float) -> Observation:
        limits.append(limit)
        clock.now += limit  # every request hangs until its limit
        return Observation(None, error="request timed out")

    assert not run(Gate(frozenset({"a"}), "2"), probe, timeout=12, interval=1, request_timeout=5, clock=clock, sleep=clock.sleep, log=lambda line: None)
    assert clock.now <= 12 + 0.05, "no request runs past the deadline"
    assert limits[0] == 5 and min(limits) < 5


def test_run_loop_stops_as_soon_as_the_gate_passes():
    clock = FakeClock()
    answers = iter([Observation(200, "a", "2"), Observation(200, "b", "2"), Observation(200, "a", "2"), Observation(200, "b", "2")])
    lines: list[str] = []
    passed = run(Gate(frozenset({"a", "b"}), "2"), lambda limit: next(answers), timeout=60, interval=2, request_timeout=5, clock=clock, sleep=clock.sleep, log=lines.append)
    assert passed and clock.now == 6
    assert lines[-1].startswith("health gate: healthy after 6.0s")
