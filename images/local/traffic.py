"""Steady client traffic through a load balancer, recording every failure with its time.

    with LoadGenerator("http://127.0.0.1:PORT/", rate=25, max_seconds=1800) as load:
        ...                                  # roll the fleet
    load.report()                            # sent, failed, failures with timestamps, servers seen

Each request is a new connection, as independent clients make (no keep-alive
that would pin one client to one server). A request fails when it is not a 200
within ``request_timeout``, or the connection is refused, reset or times out.
Bounded in time (``max_seconds``) and in count (``rate * max_seconds``): it
stops by itself even if nobody stops it. Talks to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Failure:
    at: float  # seconds since the generator started
    what: str  # "HTTP 503", "ConnectionRefusedError", ...


@dataclass
class TrafficReport:
    sent: int = 0
    ok: int = 0
    failures: list[Failure] = field(default_factory=list)
    instances: Counter[str] = field(default_factory=Counter)  # which servers answered, by instance id
    seconds: float = 0.0
    # The longest stretch with no 200 from anyone: from the start to the first, between two, from the last to the stop.
    # Throughput depends on the machine; a silence is the balancer not answering, whatever the machine.
    longest_silence: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.failures)

    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        kinds = Counter(failure.what for failure in self.failures)
        first = ", ".join(f"{failure.what} at {failure.at:.1f}s" for failure in self.failures[:5])
        pace = f"{self.rate():.1f}/s, longest silence {self.longest_silence:.1f}s"
        return f"{self.sent} sent in {self.seconds:.0f}s ({pace}), {self.failed} failed" + (f" ({dict(kinds)}; first: {first})" if self.failures else "")


class LoadGenerator:
    def __init__(self, url: str, *, rate: float = 25.0, max_seconds: float = 1800.0, request_timeout: float = 10.0, workers: int = 4):
        parts = urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"traffic goes to this machine only, not {parts.hostname}")
        self.host, self.port, self.path = parts.hostname, parts.port or 80, parts.path or "/"
        self.interval = workers / rate  # each worker's pace; together they send `rate` a second
        self.max_requests = int(rate * max_seconds)
        self.max_seconds = max_seconds
        self.request_timeout = request_timeout
        self.workers = workers
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.result = TrafficReport()
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> LoadGenerator:
        self.started = self.last_ok = time.monotonic()
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, args=(index,), name=f"load-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> TrafficReport:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=self.request_timeout + 5)
        stopped = time.monotonic()
        self.result.seconds = stopped - self.started
        self._silence_until(stopped)
        return self.result

    def _silence_until(self, now: float) -> None:
        """Called under the lock, or after the workers stopped."""
        self.result.longest_silence = max(self.result.longest_silence, now - self.last_ok)
        self.last_ok = now

    def snapshot(self) -> tuple[int, int]:
        """(sent, failed) so far."""
        with self.lock:
            return self.result.sent, self.result.failed

    def _work(self, index: int) -> None:
        # Stagger the workers so the requests spread evenly over each interval.
        if self.stopping.wait(self.interval * index / self.workers):
            return
        deadline = self.started + self.max_seconds
        next_at = time.monotonic()
        while not self.stopping.is_set() and time.monotonic() < deadline:
            with self.lock:
                if self.result.sent >= self.max_requests:
                    return
                self.result.sent += 1
            outcome, instance = self._request()
            with self.lock:
                if outcome is None:
                    self.result.ok += 1
                    self._silence_until(time.monotonic())
                    self.result.instances[instance or "?"] += 1
                else:
                    self.result.failures.append(Failure(time.monotonic() - self.started, outcome))
            next_at += self.interval
            self.stopping.wait(max(next_at - time.monotonic(), 0))

    def _request(self) -> tuple[str | None, str | None]:
        """(None, instance) for a 200, else (what went wrong, None)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.request_timeout)
        try:
            connection.request("GET", self.path, headers={"Connection": "close", "User-Agent": "immutable-web-rehearsal"})
            response = connection.getresponse()
            body = response.read(65536)
        except (OSError, http.client.HTTPException) as error:
            return type(error).__name__, None
        finally:
            connection.close()
        if response.status != 200:
            return f"HTTP {response.status}", None
        try:
            return None, str(json.loads(body).get("instance"))
        except (ValueError, AttributeError):
            return None, None
