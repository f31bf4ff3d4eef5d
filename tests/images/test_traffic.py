"""The load generator against a local HTTP server: what it counts, and the silences it measures.

The rehearsal asserts the longest silence (no 200 from anyone) rather than a
throughput: throughput depends on how loaded the machine is, a silence is the
balancer not answering.
"""

from __future__ import annotations

import json
import sys
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "images" / "local"))

from traffic import LoadGenerator  # noqa: E402

STALL_SECONDS = 1.5


class Server(ThreadingHTTPServer):
    """Answers like the app's `/`: a page-view count, and a visit count kept in a cookie (here, in plain text)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.stalled = threading.Event()
        self.failing = threading.Event()
        self.forgetting = threading.Event()  # a server that cannot read the cookie: every session starts over
        self.not_counting = threading.Event()  # a page view that was not written

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        if self.server.stalled.is_set():
            threading.Event().wait(STALL_SECONDS)
        status = 503 if self.server.failing.is_set() else 200
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        visits = 1 if self.server.forgetting.is_set() or "visits" not in cookie else int(cookie["visits"].value) + 1
        views = None if self.server.not_counting.is_set() else 1
        body = json.dumps({"instance": "a", "views": views, "session_visits": visits}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", f"visits={visits}; Path=/; HttpOnly; SameSite=Lax")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    with Server() as running:
        thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        yield running
        running.shutdown()
        thread.join(timeout=5)


def test_steady_answers_leave_no_long_silence(server):
    with LoadGenerator(server.url, rate=40, max_seconds=10) as load:
        threading.Event().wait(1.0)
    report = load.result
    assert report.failed == 0 and report.ok == report.sent > 10, report.describe()
    assert report.instances == {"a": report.ok}
    assert report.longest_silence < STALL_SECONDS, report.describe()
    # One returning visitor, its cookie sent back every time; the others are new visitors.
    assert 0 < report.session_answers < report.ok and report.session_resets == 0, report.describe()
    assert report.uncounted == 0, report.describe()


def traffic_then(server: Server, change: threading.Event):
    """Half a second of traffic, then ``change`` set, then half a second more."""
    with LoadGenerator(server.url, rate=40, max_seconds=10) as load:
        threading.Event().wait(0.6)
        change.set()
        threading.Event().wait(0.6)
    return load.result


def test_a_server_that_cannot_read_the_session_is_a_reset(server):
    report = traffic_then(server, server.forgetting)
    assert report.failed == 0
    assert report.session_resets >= 1, report.describe()


def test_a_page_view_not_written_is_counted(server):
    report = traffic_then(server, server.not_counting)
    assert report.failed == 0 and 0 < report.uncounted < report.ok, report.describe()
    # And which server answered them (the stand-in answers as one instance).
    assert sum(report.uncounted_instances.values()) == report.uncounted and len(report.uncounted_instances) == 1, report.describe()


def test_a_stall_is_measured_as_a_silence(server):
    with LoadGenerator(server.url, rate=40, max_seconds=10) as load:
        threading.Event().wait(0.5)
        server.stalled.set()
        threading.Event().wait(STALL_SECONDS)
        server.stalled.clear()
        threading.Event().wait(1.0)
    report = load.result
    # Every request in flight when the stall began answers after STALL_SECONDS: nothing between.
    assert report.failed == 0, report.describe()
    assert STALL_SECONDS * 0.9 <= report.longest_silence < report.seconds, report.describe()


def test_errors_are_failures_and_count_as_silence(server):
    server.failing.set()
    with LoadGenerator(server.url, rate=40, max_seconds=10) as load:
        threading.Event().wait(1.0)
    report = load.result
    assert report.ok == 0 and report.failed == report.sent > 0
    assert {failure.what for failure in report.failures} == {"HTTP 503"}
    assert report.longest_silence == pytest.approx(report.seconds)


def test_only_this_machine():
    with pytest.raises(ValueError, match="this machine only"):
        LoadGenerator("http://example.com/")
