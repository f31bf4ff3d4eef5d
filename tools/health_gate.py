#!/usr/bin/env python3
"""Wait until every server this update created answers healthy through the load balancer, or fail.

Run by the `HealthGate` component (a pulumi-command `local.Command`) during
`pulumi up`, after a wave of new droplets exists:

    python3 tools/health_gate.py --url http://203.0.113.10/healthz \\
        --expect-version 1.4.2 --expect-instances 412345678,412345679 --timeout 600

If it fails, the update fails before Pulumi deletes the old droplets, so the
old fleet keeps serving.

WHO ANSWERED. The load balancer round-robins, so each poll sees one server;
the app's deep health endpoint says which (`instance`: the instance id
cloud-init got from the cloud's metadata, i.e. the droplet id on DigitalOcean,
the EC2 instance id on AWS, NoCloud's `instance-id` locally) and what it runs
(`version`):

    200 {"status": "ok", "version": "1.4.2", "instance": "412345678", "hostname": "...", "database": true}
    503 {"status": "unhealthy", ...}

The gate waits for the ids of the servers Pulumi has just created. A server
that existed before this update has another id, whatever its name, image or
config, so the old generation's answers can never satisfy the gate: not after
a config-only change that keeps every name, not after a resize.

GENERATIONS (AWS). An auto-scaling group starts its instances itself, so
Pulumi never learns their ids. There the fleet hands every instance a
generation (a hash of everything the fleet is made of) in its user-data, the
app reports it (`generation`), and the gate waits instead for
`--expect-count` distinct instances of `--expect-generation`: an instance of
the previous generation reports another one, so it can never count.

THE RULE (`Gate.passed`). An answer is healthy when it is HTTP 200 with
`"status": "ok"` and the expected version. The gate passes when every
expected instance's last `--min-successes` answers were all healthy, in a row.
That implies both that each instance answered healthy at least `--min-successes`
times and that the last `--min-successes` answers from new instances were all
healthy; and since the streak is per instance, one flapping droplet (200, 503,
200, ...) never passes, even when its healthy neighbours make the overall
sequence look good. A single droplet's transient failure only restarts its
streak. With `--min-successes 1`, one healthy answer from each instance suffices.

Answers from other instances (the old fleet, still behind the load balancer
during a replace) are counted and reported, but neither pass nor fail the
gate. Errors (refused or reset connections, timeouts, answers without an
instance id, such as the balancer's own 503 page) cannot be attributed to a
server: they are counted and reported, and neither break nor build a streak.

Every wait is bounded: each request by `--request-timeout` (a hard bound,
even against a server that trickles bytes), the whole gate by `--timeout`.
At the deadline it fails (exit 1) with a summary per instance; bad arguments exit 2.

Standard library only: it runs with any python3 on an operator's or CI machine.
Progress goes to stderr; the last stdout line is a JSON summary. Nothing of a
response body is printed except `instance`, `hostname`, `version` and the HTTP status.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import socket
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_USAGE = 0, 1, 2
MAX_BODY_BYTES = 65536
PROGRESS_EVERY_SECONDS = 10.0


def _clean(value: object, limit: int) -> str | None:
    """A field from the body as short printable text (a hostile body cannot flood the log)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = "".join(character for character in str(value) if character.isprintable())
    return text[:limit] or None


@dataclass(frozen=True)
class Observation:
    """One poll: an answer (HTTP status and the body's fields) or an error."""

    status: int | None
    instance: str | None = None  # cloud-init's instance id: the droplet id, the EC2 instance id
    version: str | None = None
    state: str | None = "ok"  # the body's "status" field
    error: str | None = None
    hostname: str | None = None  # reported for people reading the summary; decides nothing
    generation: str | None = None  # the fleet generation the server was started with (AWS)

    def healthy_for(self, version: str) -> bool:
        return self.error is None and self.status == 200 and self.state == "ok" and self.version == version


@dataclass
class InstanceRecord:
    hostname: str | None = None
    answers: int = 0
    healthy: int = 0
    streak: int = 0  # healthy answers in a row, up to the latest
    last_status: int | None = None
    last_version: str | None = None
    generation: str | None = None


@dataclass
class Gate:
    """The decision, apart from the I/O so the rule can be tested on its own (see the module docstring)."""

    expected_instances: frozenset[str]
    expected_version: str
    min_successes: int = 2
    expected_generation: str | None = None
    """With `expected_count`: count instances that report this generation instead of known ids."""
    expected_count: int = 0
    instances: dict[str, InstanceRecord] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    other_answers: int = 0

    def observe(self, observation: Observation) -> None:
        if observation.error is not None or observation.instance is None:
            self.errors[observation.error or "no instance id in the answer"] += 1
            return
        record = self.instances.setdefault(observation.instance, InstanceRecord())
        record.hostname = observation.hostname
        record.answers += 1
        record.last_status = observation.status
        record.last_version = observation.version
        record.generation = observation.generation
        if not self.is_new(observation.instance):
            self.other_answers += 1
            return
        if observation.healthy_for(self.expected_version):
            record.healthy += 1
            record.streak += 1
        else:
            record.streak = 0

    def is_new(self, instance: str) -> bool:
        """Created by this update: one of the expected ids, or (generation mode) last seen reporting the expected generation."""
        if self.expected_generation is not None:
            record = self.instances.get(instance)
            return record is not None and record.generation == self.expected_generation
        return instance in self.expected_instances

    def new_instances(self) -> frozenset[str]:
        if self.expected_generation is not None:
            return frozenset(instance for instance in self.instances if self.is_new(instance))
        return self.expected_instances

    def waiting_for(self) -> list[str]:
        """Expected instances whose latest answers are not yet a healthy run of `min_successes`.

        In generation mode: the new instances seen so far that are not there yet, and
        "N more of generation G" while fewer than `expected_count` are healthy.
        """
        if self.expected_generation is None:
            return sorted(instance for instance in self.expected_instances if self.instances.get(instance, InstanceRecord()).streak < self.min_successes)
        ready = [instance for instance in self.new_instances() if self.instances[instance].streak >= self.min_successes]
        if len(ready) >= self.expected_count:
            return []
        seen = sorted(instance for instance in self.new_instances() if instance not in ready)
        unseen = self.expected_count - len(ready) - len(seen)
        return seen + ([f"{unseen} more instance(s) of generation {self.expected_generation}"] if unseen > 0 else [])

    def passed(self) -> bool:
        return not self.waiting_for()

    def summary(self, elapsed: float) -> dict:
        return {
            "healthy": self.passed(),
            "elapsed_seconds": round(elapsed, 1),
            "expected_version": self.expected_version,
            "expected_generation": self.expected_generation,
            "expected_count": self.expected_count if self.expected_generation is not None else len(self.expected_instances),
            "min_successes": self.min_successes,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(sorted(self.errors.items())),
            "other_answers": self.other_answers,
            "instances": {
                name: {
                    "expected": self.is_new(name),
                    "hostname": record.hostname,
                    "answers": record.answers,
                    "healthy": record.healthy,
                    "healthy_in_a_row": record.streak,
                    "last_status": record.last_status,
                    "last_version": record.last_version,
                    "generation": record.generation,
                }
                for name, record in sorted(self.instances.items())
            },
            "missing": self.waiting_for(),
        }


# ---------------------------------------------------------------------------
# I/O: one GET, and the polling loop.


@dataclass(frozen=True)
class Target:
    """Where to send the health request, and how."""

    url: str
    resolve_address: str | None = None  # connect here instead of resolving the URL's host (like curl --resolve)
    tls: ssl.SSLContext | None = None


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed address, with the URL's name for SNI and certificate checks."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _get(target: Target, timeout: float) -> Observation:
    parts = urlsplit(target.url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if https:
        context = target.tls or ssl.create_default_context()
        if target.resolve_address:
            connection = _PinnedHTTPSConnection(host, port, address=target.resolve_address, timeout=timeout, context=context)
        else:
            connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(target.resolve_address or host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": parts.netloc.rpartition("@")[2], "User-Agent": "immutable-web-health-gate", "Connection": "close"})
        response = connection.getresponse()
        body = response.read(MAX_BODY_BYTES)
    except (OSError, http.client.HTTPException) as error:
        return Observation(status=None, error=type(error).__name__)
    finally:
        connection.close()
    try:
        document = json.loads(body)
    except ValueError:
        return Observation(status=response.status, error=f"HTTP {response.status}, not JSON")
    if not isinstance(document, dict):
        return Observation(status=response.status, error=f"HTTP {response.status}, not a JSON object")
    return Observation(
        status=response.status,
        instance=_clean(document.get("instance"), 128),
        hostname=_clean(document.get("hostname"), 253),
        version=_clean(document.get("version"), 64),
        state=_clean(document.get("status"), 32),
        generation=_clean(document.get("generation"), 64),
    )


def poll(target: Target, timeout: float) -> Observation:
    """One GET of the health URL; never raises, and returns within ``timeout`` seconds.

    The socket timeout bounds each read, not the whole request: a server that
    trickles a byte a second would keep a plain request alive for ever. So the
    request runs in a daemon thread that is abandoned after ``timeout`` (its
    own socket timeout still ends it, and the process exit does at the latest).
    """
    outcome: list[Observation] = []

    def request() -> None:
        try:
            outcome.append(_get(target, timeout))
        except Exception as error:  # noqa: BLE001 - a poll reports, it never crashes the gate
            outcome.append(Observation(status=None, error=type(error).__name__))

    worker = threading.Thread(target=request, name="health-gate-request", daemon=True)
    worker.start()
    worker.join(timeout)
    return outcome[0] if outcome else Observation(status=None, error="request timed out")


def run(
    gate: Gate,
    probe: Callable[[float], Observation],
    *,
    timeout: float,
    interval: float,
    request_timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> bool:
    """Poll until the gate passes or the deadline passes.

    ``probe(limit)`` must return within ``limit`` seconds (``poll`` does); each
    limit is cut to the time left, so the loop ends within ``timeout`` plus a
    moment. The loop is also bounded in count: one poll per interval, plus one.
    """
    start = clock()
    deadline = start + timeout
    last_report = start
    announced: set[str] = set()
    for _ in range(math.ceil(timeout / interval) + 1):
        observation = probe(max(min(request_timeout, deadline - clock()), 0.05))
        gate.observe(observation)
        now = clock()
        for instance in sorted(gate.new_instances() - announced):
            record = gate.instances.get(instance, InstanceRecord())
            if record.healthy:
                announced.add(instance)
                log(f"health gate: {now - start:.1f}s: instance {instance} ({record.hostname}) answered healthy with {gate.expected_version}")
        if gate.passed():
            log(f"health gate: healthy after {now - start:.1f}s: instances {', '.join(sorted(gate.new_instances()))} answer {gate.expected_version}")
            return True
        if now - last_report >= PROGRESS_EVERY_SECONDS:
            last_report = now
            log(f"health gate: {now - start:.0f}s, waiting for {', '.join(gate.waiting_for())} (errors {sum(gate.errors.values())}, other instances' answers {gate.other_answers})")
        if now >= deadline:
            return False
        sleep(min(interval, deadline - now))
    return False


# ---------------------------------------------------------------------------
# The command line.


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="The rule: see the module docstring (healthy = HTTP 200, status ok, expected version; every new instance needs --min-successes healthy answers in a row).",
    )
    parser.add_argument("--url", required=True, help="health endpoint through the load balancer, http:// or https://")
    parser.add_argument("--expect-version", required=True, help="the version the new droplets must report")
    parser.add_argument("--expect-instance", action="append", default=[], metavar="ID", help="the instance id of a server this update created (repeatable)")
    parser.add_argument("--expect-instances", default="", metavar="A,B,...", help="instance ids of the servers this update created, comma-separated")
    parser.add_argument("--expect-generation", metavar="G", help="instead of ids: the fleet generation the new servers report (with --expect-count)")
    parser.add_argument("--expect-count", type=int, metavar="N", help="with --expect-generation: how many distinct servers of that generation must be healthy")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before the gate fails (default 600)")
    parser.add_argument("--interval", type=float, default=2, help="seconds between polls (default 2)")
    parser.add_argument("--request-timeout", type=float, default=5, help="seconds per request (default 5)")
    parser.add_argument("--min-successes", type=int, default=2, help="healthy answers in a row needed from each new instance (default 2)")
    parser.add_argument("--resolve", metavar="HOST:IP", help="connect to IP for the URL's HOST, sending HOST as Host and TLS SNI (a name whose DNS has not propagated)")
    parser.add_argument("--cacert", metavar="PATH", help="CA certificates (PEM) to verify https with, instead of the system's")
    parser.add_argument("--insecure", action="store_true", help="do not verify the https certificate")
    args = parser.parse_args(argv)

    instances = {name.strip() for name in [*args.expect_instance, *args.expect_instances.split(",")] if name.strip()}
    if args.expect_generation is not None or args.expect_count is not None:
        if instances:
            parser.error("give either the new servers' instance ids or --expect-generation with --expect-count, not both")
        if not args.expect_generation or args.expect_count is None or args.expect_count < 1:
            parser.error("--expect-generation needs a value and --expect-count a number of servers, at least 1")
    elif not instances:
        parser.error("give the new servers' instance ids with --expect-instance or --expect-instances (or --expect-generation with --expect-count)")
    try:
        parts = urlsplit(args.url)
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read: here, not at every poll
    except ValueError as error:
        parser.error(f"--url must be an http:// or https:// URL with a port from 1 to 65535, got {args.url!r} ({error})")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.port == 0:
        parser.error(f"--url must be an http:// or https:// URL with a port from 1 to 65535, got {args.url!r}")
    if not all(math.isfinite(value) for value in (args.timeout, args.interval, args.request_timeout)):
        parser.error("--timeout, --interval and --request-timeout must be numbers of seconds")
    if args.timeout <= 0 or args.interval <= 0 or args.request_timeout <= 0 or args.min_successes < 1:
        parser.error("--timeout, --interval and --request-timeout must be positive, --min-successes at least 1")
    args.resolve_address = None
    if args.resolve:
        name, _, address = args.resolve.partition(":")
        address = address.strip("[]")
        try:
            ipaddress.ip_address(address)
        except ValueError:
            parser.error(f"--resolve takes HOST:IP, got {args.resolve!r}")
        if name.lower() != (parts.hostname or "").lower():
            parser.error(f"--resolve is for {name!r} but the URL's host is {parts.hostname!r}")
        args.resolve_address = address
    if (args.cacert or args.insecure) and parts.scheme != "https":
        parser.error("--cacert and --insecure are for https URLs")
    args.instances = frozenset(instances)
    return args


def _tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if urlsplit(args.url).scheme != "https":
        return None
    context = ssl.create_default_context(cafile=args.cacert)
    if args.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def print_failure(summary: dict) -> None:
    """The one-screen summary on stderr."""
    print(
        f"health gate: FAILED after {summary['elapsed_seconds']}s; not healthy {summary['min_successes']} times in a row with version {summary['expected_version']}: {', '.join(summary['missing'])}",
        file=sys.stderr,
    )
    for name, record in summary["instances"].items():
        if record["expected"]:
            counts = f"{record['answers']} answers, {record['healthy']} healthy ({record['healthy_in_a_row']} in a row)"
        else:
            counts = f"{record['answers']} answers (not created by this update: ignored)"
        print(
            f"  instance {name} ({record['hostname']}, {'new' if record['expected'] else 'other'}): {counts}, last status {record['last_status']}, last version {record['last_version']}",
            file=sys.stderr,
        )
    for name in summary["missing"]:
        if name not in summary["instances"]:
            # An expected id that never answered, or (generation mode) how many new servers were never seen.
            print(f"  {name}: never answered" if summary["expected_generation"] else f"  instance {name} (new): never answered", file=sys.stderr)
    kinds = ", ".join(f"{kind} x{count}" for kind, count in summary["error_kinds"].items())
    print(f"  connection errors (refused, reset, timed out, or no instance id in the answer): {summary['errors']}" + (f": {kinds}" if kinds else ""), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_HEALTHY  # --help exits 0
    try:
        tls = _tls_context(args)
    except (OSError, ssl.SSLError) as error:
        print(f"health_gate.py: error: --cacert {args.cacert}: {error}", file=sys.stderr)
        return EXIT_USAGE
    target = Target(url=args.url, resolve_address=args.resolve_address, tls=tls)
    gate = Gate(
        expected_instances=args.instances,
        expected_version=args.expect_version,
        min_successes=args.min_successes,
        expected_generation=args.expect_generation,
        expected_count=args.expect_count or 0,
    )
    start = time.monotonic()
    healthy = run(gate, lambda limit: poll(target, limit), timeout=args.timeout, interval=args.interval, request_timeout=args.request_timeout)
    summary = gate.summary(time.monotonic() - start)
    if not healthy:
        print_failure(summary)
    print(json.dumps(summary, sort_keys=True), flush=True)
    return EXIT_HEALTHY if healthy else EXIT_UNHEALTHY


if __name__ == "__main__":
    raise SystemExit(main())
