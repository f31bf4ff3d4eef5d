#!/usr/bin/env python3
"""Wait until every new droplet answers healthy through the load balancer, or fail.

Run by the `HealthGate` component (a pulumi-command `local.Command`) during
`pulumi up`, after the new droplets exist:

    python3 tools/health_gate.py --url http://203.0.113.10/healthz \\
        --expect-version 1.4.2 --expect-hosts web-1-4-2-ab12cd-0,web-1-4-2-ab12cd-1 --timeout 600

The load balancer round-robins, so each poll sees one droplet; the app's
health endpoint says which (`hostname`) and what it runs (`version`):

    200 {"status": "ok", "version": "1.4.2", "hostname": "...", "database": true}
    503 {"status": "unhealthy", ...}

The rule (see `Gate.passed`): the gate passes when every expected host has
answered healthy, with the expected version, at least `--min-successes` times,
AND the last `--min-successes` answers from expected hosts were all healthy.
So a flapping droplet cannot pass on a lucky streak of one. Answers from other
hosts (the old fleet, still behind the load balancer during a replace) are
counted and reported, but neither pass nor fail the gate. Connection errors and
timeouts are counted as errors. At the deadline the gate fails (exit 1) with a
summary per host; bad arguments exit 2.

Standard library only: it runs with any python3 on an operator's or CI machine.
Progress goes to stderr; the last stdout line is a JSON summary.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_USAGE = 0, 1, 2


@dataclass
class Observation:
    """One poll: an answer (status, JSON body) or an error."""

    status: int | None
    hostname: str | None = None
    version: str | None = None
    error: str | None = None

    def healthy_for(self, version: str) -> bool:
        return self.status == 200 and self.version == version


@dataclass
class HostRecord:
    answers: int = 0
    healthy: int = 0
    last_status: int | None = None
    last_version: str | None = None


@dataclass
class Gate:
    """The decision, separate from the I/O so the rule can be tested on its own."""

    expected_hosts: frozenset[str]
    expected_version: str
    min_successes: int = 2
    hosts: dict[str, HostRecord] = field(default_factory=dict)
    errors: int = 0
    other_answers: int = 0
    recent: list[bool] = field(default_factory=list)  # health of the last answers from expected hosts

    def observe(self, observation: Observation) -> None:
        if observation.error is not None or observation.hostname is None:
            self.errors += 1
            return
        record = self.hosts.setdefault(observation.hostname, HostRecord())
        record.answers += 1
        record.last_status = observation.status
        record.last_version = observation.version
        if observation.hostname not in self.expected_hosts:
            self.other_answers += 1
            return
        healthy = observation.healthy_for(self.expected_version)
        if healthy:
            record.healthy += 1
        self.recent = (self.recent + [healthy])[-self.min_successes :]

    def passed(self) -> bool:
        every_host = all(self.hosts.get(host, HostRecord()).healthy >= self.min_successes for host in self.expected_hosts)
        steady = len(self.recent) >= self.min_successes and all(self.recent)
        return every_host and steady

    def missing(self) -> list[str]:
        return sorted(h for h in self.expected_hosts if self.hosts.get(h, HostRecord()).healthy < self.min_successes)

    def summary(self, elapsed: float) -> dict:
        return {
            "healthy": self.passed(),
            "elapsed_seconds": round(elapsed, 1),
            "expected_version": self.expected_version,
            "errors": self.errors,
            "other_answers": self.other_answers,
            "hosts": {
                name: {"expected": name in self.expected_hosts, "answers": r.answers, "healthy": r.healthy, "last_status": r.last_status, "last_version": r.last_version}
                for name, r in sorted(self.hosts.items())
            },
            "missing": self.missing(),
        }


def _connection(url: str, timeout: float, resolve: tuple[str, str] | None, context: ssl.SSLContext | None) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    connect_host = resolve[1] if resolve and resolve[0] == host else host
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        if connect_host != host:
            # Connect to the load balancer's IP while sending the name for SNI and Host (like curl --resolve).
            def connect(conn=connection) -> None:
                sock = socket.create_connection((connect_host, port), timeout)
                conn.sock = conn._context.wrap_socket(sock, server_hostname=host)  # type: ignore[attr-defined]

            connection.connect = connect  # type: ignore[method-assign]
    else:
        connection = http.client.HTTPConnection(connect_host, port, timeout=timeout)
    return connection, path


def poll(url: str, timeout: float, resolve: tuple[str, str] | None = None, context: ssl.SSLContext | None = None) -> Observation:
    """One GET of the health URL; never raises, never waits longer than ``timeout`` per socket operation."""
    try:
        connection, path = _connection(url, timeout, resolve, context)
        try:
            host = urlsplit(url).netloc
            connection.request("GET", path, headers={"Host": host, "User-Agent": "immutable-web-health-gate", "Connection": "close"})
            response = connection.getresponse()
            body = response.read(65536)
        finally:
            connection.close()
    except (OSError, http.client.HTTPException) as error:
        return Observation(status=None, error=type(error).__name__)
    try:
        document = json.loads(body)
    except ValueError:
        return Observation(status=response.status, error="not JSON")
    if not isinstance(document, dict):
        return Observation(status=response.status, error="not a JSON object")
    return Observation(status=response.status, hostname=str(document.get("hostname")) if document.get("hostname") else None, version=document.get("version"))


def run(
    gate: Gate,
    probe: Callable[[], Observation],
    *,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> bool:
    """Poll until the gate passes or the deadline; bounded by ``timeout`` (plus one request)."""
    start = clock()
    deadline = start + timeout
    last_report = start
    while True:
        observation = probe()
        gate.observe(observation)
        if gate.passed():
            log(f"health gate: healthy after {clock() - start:.1f}s: {', '.join(sorted(gate.expected_hosts))} answer {gate.expected_version}")
            return True
        now = clock()
        if now - last_report >= 10:
            last_report = now
            log(f"health gate: {now - start:.0f}s, waiting for {', '.join(gate.missing()) or 'a steady run'} (errors {gate.errors})")
        if now + interval > deadline:
            return False
        sleep(interval)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="health endpoint through the load balancer")
    parser.add_argument("--expect-version", required=True)
    parser.add_argument("--expect-host", action="append", default=[], help="a new droplet's hostname (repeatable)")
    parser.add_argument("--expect-hosts", default="", help="comma-separated hostnames")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before the gate fails")
    parser.add_argument("--interval", type=float, default=2, help="seconds between polls")
    parser.add_argument("--request-timeout", type=float, default=5, help="seconds per request")
    parser.add_argument("--min-successes", type=int, default=2, help="healthy answers needed from each host, and in a row at the end")
    parser.add_argument("--resolve", metavar="HOST:IP", help="connect to IP for HOST (a name whose DNS has not propagated)")
    parser.add_argument("--cacert", metavar="PATH", help="CA bundle for https")
    parser.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    args = parser.parse_args(argv)
    hosts = [h for h in args.expect_host + args.expect_hosts.split(",") if h.strip()]
    if not hosts:
        parser.error("give the new droplets' hostnames with --expect-host or --expect-hosts")
    if urlsplit(args.url).scheme not in ("http", "https"):
        parser.error(f"--url must be http:// or https://, got {args.url!r}")
    if args.timeout <= 0 or args.interval < 0 or args.request_timeout <= 0 or args.min_successes < 1:
        parser.error("--timeout and --request-timeout must be positive, --interval not negative, --min-successes at least 1")
    if args.resolve and (":" not in args.resolve):
        parser.error("--resolve takes HOST:IP")
    args.hosts = frozenset(h.strip() for h in hosts)
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_HEALTHY
    context = None
    if urlsplit(args.url).scheme == "https":
        context = ssl.create_default_context(cafile=args.cacert)
        if args.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    resolve = tuple(args.resolve.rsplit(":", 1)) if args.resolve else None
    gate = Gate(expected_hosts=args.hosts, expected_version=args.expect_version, min_successes=args.min_successes)
    start = time.monotonic()
    healthy = run(
        gate,
        lambda: poll(args.url, args.request_timeout, resolve, context),  # type: ignore[arg-type]
        timeout=args.timeout,
        interval=args.interval,
    )
    summary = gate.summary(time.monotonic() - start)
    if not healthy:
        print(f"health gate: FAILED after {summary['elapsed_seconds']}s; not healthy: {', '.join(summary['missing']) or '(no steady run)'}", file=sys.stderr)
        for name, host in summary["hosts"].items():
            role = "new" if host["expected"] else "other"
            print(f"  {name} ({role}): {host['answers']} answers, {host['healthy']} healthy, last status {host['last_status']}, last version {host['last_version']}", file=sys.stderr)
        print(f"  connection errors: {summary['errors']}", file=sys.stderr)
    print(json.dumps(summary, sort_keys=True))
    return EXIT_HEALTHY if healthy else EXIT_UNHEALTHY


if __name__ == "__main__":
    raise SystemExit(main())
