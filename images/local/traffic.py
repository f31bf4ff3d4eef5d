"""Steady client traffic through a load balancer, recording every failure with its time.

    with LoadGenerator("http://127.0.0.1:PORT/", rate=25, max_seconds=1800) as load:
        ...                                  # roll the fleet
    load.report()                            # sent, failed, failures with timestamps, servers seen

Each request is a new connection, as independent clients make (no keep-alive
that would pin one client to one server). A request fails when it is not a 200
within ``request_timeout``, or the connection is refused, reset or times out.
One worker is a returning visitor: it keeps the session cookie the app sets and
checks that every answer continues its session (any server of any generation
must read it); the others are new visitors every time. A 200 from `/` whose
page view was not written (``"views": null``) is counted too.
Bounded in time (``max_seconds``) and in count (``rate * max_seconds``): it
stops by itself even if nobody stops it. Talks to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import http.cookies
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
    uncounted: int = 0  # 200s whose body says the page view was not written ("views": null)
    uncounted_instances: Counter[str] = field(default_factory=Counter)  # which servers answered them
    # The returning visitor (worker 0): its 200s, those that did not continue its session, and which servers answered it.
    session_answers: int = 0
    session_resets: int = 0
    session_instances: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        kinds = Counter(failure.what for failure in self.failures)
        first = ", ".join(f"{failure.what} at {failure.at:.1f}s" for failure in self.failures[:5])
        pace = f"{self.rate():.1f}/s, longest silence {self.longest_silence:.1f}s"
        session = f"; returning visitor: {self.session_answers} answers from {len(self.session_instances)} servers, {self.session_resets} lost its session"
        counted = f"; {self.uncounted} page views not written (by instance: {dict(self.uncounted_instances)})" if self.uncounted else ""
        failed = f" ({dict(kinds)}; first: {first})" if self.failures else ""
        return f"{self.sent} sent in {self.seconds:.0f}s ({pace}), {self.failed} failed{failed}{session}{counted}"


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
        returning = index == 0  # the one visitor that keeps its cookie
        cookie: str | None = None
        visits = 0
        while not self.stopping.is_set() and time.monotonic() < deadline:
            with self.lock:
                if self.result.sent >= self.max_requests:
                    return
                self.result.sent += 1
            outcome, document, set_cookie = self._request(cookie if returning else None)
            instance = str(document.get("instance")) if "instance" in document else "?"
            with self.lock:
                if outcome is None:
                    self.result.ok += 1
                    self._silence_until(time.monotonic())
                    self.result.instances[instance] += 1
                    if "views" in document and document["views"] is None:
                        self.result.uncounted += 1
                        self.result.uncounted_instances[instance] += 1
                    if returning and "session_visits" in document:
                        self.result.session_answers += 1
                        self.result.session_instances[instance] += 1
                        answered = document["session_visits"]
                        self.result.session_resets += answered != visits + 1
                        visits = answered if isinstance(answered, int) else 0
                else:
                    self.result.failures.append(Failure(time.monotonic() - self.started, outcome))
            if set_cookie:
                cookie = set_cookie
            next_at += self.interval
            self.stopping.wait(max(next_at - time.monotonic(), 0))

    def _request(self, cookie: str | None) -> tuple[str | None, dict, str | None]:
        """(None, the JSON body, the cookie to send next) for a 200, else (what went wrong, {}, None)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.request_timeout)
        headers = {"Connection": "close", "User-Agent": "immutable-web-rehearsal", **({"Cookie": cookie} if cookie else {})}
        try:
            connection.request("GET", self.path, headers=headers)
            response = connection.getresponse()
            body = response.read(65536)
            set_cookie = response.getheader("Set-Cookie")
        except (OSError, http.client.HTTPException) as error:
            return type(error).__name__, {}, None
        finally:
            connection.close()
        if response.status != 200:
            return f"HTTP {response.status}", {}, None
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        return None, document if isinstance(document, dict) else {}, _cookie_pair(set_cookie)


def _cookie_pair(set_cookie: str | None) -> str | None:
    """What a browser sends back for a Set-Cookie header: name=value, without its attributes."""
    if not set_cookie:
        return None
    jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
    try:
        jar.load(set_cookie)
    except http.cookies.CookieError:
        return None
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items()) or None
