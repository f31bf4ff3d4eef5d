"""The HTTP server: authentication, routing, DigitalOcean's error shape, the request log, the optional OpenAPI check.

    stand_in = StandIn(backend=ApiBackend(), delays=Delays.all(0), request_log=path)
    stand_in.start()            # on 127.0.0.1, a free port unless one is given; stand_in.url
    ...
    stand_in.stop()             # stops the server, then the backend's processes

Every request is logged: one line on stderr (time, method, path, status) and one JSON line in
``request_log`` (the same, with the query, the request's action type or resource id, and the
created resource's id), never the bearer token nor a password, user-data or private key.
``on_exchange`` hooks see each whole exchange (tests check them against the OpenAPI description);
with ``check`` set, an exchange the description does not allow is answered 500 instead.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from do_stand_in.admin import admin_routes
from do_stand_in.backends.base import Backend
from do_stand_in.context import Context
from do_stand_in.errors import ApiError
from do_stand_in.openapi import Exchange, OpenApiCheck
from do_stand_in.resources import account, actions, certificates, databases, domains, droplets, firewalls, images, load_balancers, tags, vpcs
from do_stand_in.router import Request, Router
from do_stand_in.store import Delays, Store

TICK_SECONDS = 0.1
STOP_POLL_SECONDS = 0.2
ADMIN_PREFIX = "/_stand_in/"
# Fields whose values never reach the request log, wherever they are in a request body.
SECRET_FIELDS = frozenset({"user_data", "password", "private_key", "leaf_certificate", "certificate_chain", "ssh_password", "access_key", "access_cert"})
MAX_BODY_BYTES = 1024 * 1024

log = logging.getLogger("do_stand_in")


def redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: "(redacted)" if name in SECRET_FIELDS else redacted(item) for name, item in value.items()}
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


class StandIn:
    def __init__(
        self,
        *,
        backend: Backend,
        delays: Delays | None = None,
        address: tuple[str, int] = ("127.0.0.1", 0),
        state_dir: Path | None = None,
        request_log: Path | None = None,
        token: str | None = None,
        check: OpenApiCheck | None = None,
    ):
        if address[0] != "127.0.0.1":
            raise ValueError("the stand-in listens on 127.0.0.1 only")
        self.store = Store(delays or Delays(), state_dir)
        self.backend = backend
        self.context = Context(self.store, backend)
        self.router = Router(
            [route for module in (account, actions, certificates, databases, domains, droplets, firewalls, images, load_balancers, tags, vpcs) for route in module.routes(self.context)]
        )
        self.admin = Router(admin_routes(self.context))
        self.token = token
        self.check = check
        self.request_log = request_log
        self.on_exchange: list[Callable[[Exchange], None]] = []
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._stop_requested = False
        self.httpd = ThreadingHTTPServer(address, _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._threads: list[threading.Thread] = []

    def start(self) -> StandIn:
        self._threads = [threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True), threading.Thread(target=self._tick, daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def serve(self) -> None:
        """Run until ``request_stop`` (a signal handler calls it), then stop."""
        self.start()
        while not self._stop_requested:
            time.sleep(STOP_POLL_SECONDS)
        self.stop()

    def request_stop(self) -> None:
        # A plain flag, no lock: a signal handler runs in the main thread between two bytecodes, maybe
        # while that thread holds an Event's internal lock (inside its wait), and Event.set() would
        # wait for that lock for ever.
        self._stop_requested = True

    def stop(self) -> None:
        self._stopping.set()
        if self._threads:
            self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self.store.save()
        self.backend.close()

    def _tick(self) -> None:
        while not self._stopping.wait(TICK_SECONDS):
            try:
                self.store.tick()
            except Exception:  # the ticker must go on: a failing transition is logged, the next ones still run
                log.exception("a transition failed")

    # One request.
    def answer(self, method: str, target: str, headers: dict[str, str], raw_body: bytes, host: str) -> tuple[int, bytes, dict[str, Any]]:
        """(status, body, log details) of one request."""
        split = urlsplit(target)
        path, query = split.path, dict(parse_qsl(split.query))
        details: dict[str, Any] = {}
        try:
            body = json.loads(raw_body) if raw_body.strip() else None
        except ValueError:
            return self._error(ApiError(400, "bad_request", "The request body is not JSON."))
        if not admin_path(path) and not self._authorized(headers.get("Authorization", "")):
            return self._error(ApiError(401, "unauthorized", "Unable to authenticate you"))
        if isinstance(body, dict):
            details["request"] = _summary(body)
        request = Request(method, path, query, body, base_url=f"http://{host}")
        found = (self.admin if admin_path(path) else self.router).match(method, path)
        if found is None:
            details["unimplemented"] = True
            log.warning("not implemented by the stand-in: %s %s", method, path)
            status, encoded, _ = self._error(ApiError(404, "not_found", f"The DigitalOcean stand-in does not implement {method} {path}."))
            return status, encoded, details
        route, request.params = found
        details["route"] = route.pattern
        with self.store.lock:
            self.store.tick()
            try:
                status, answer = route.handler(request)
            except ApiError as error:
                status, encoded, problem = self._error(error)
                return status, encoded, {**details, **problem}
            except Exception:
                log.exception("%s %s failed", method, path)
                status, encoded, problem = self._error(ApiError(500, "server_error", f"The stand-in failed on {method} {path} (see its log)."))
                return status, encoded, {**details, **problem}
            if method != "GET":
                self.store.save()
            # Encoded under the lock: the answer holds live records, which the ticker may change next.
            details.update(_created(answer))
            encoded = b"" if answer is None else json.dumps(answer).encode()
        return status, encoded, details

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return self.token is None or token.strip() == self.token

    def _error(self, error: ApiError) -> tuple[int, bytes, dict[str, Any]]:
        body = {"id": error.error_id, "message": error.message, "request_id": str(uuid.uuid4())}
        return error.status, json.dumps(body).encode(), {"error": error.error_id}

    def record(self, entry: dict[str, Any]) -> None:
        line = f"{entry['time']} {entry['method']} {entry['path']} {entry['status']}"
        print(line, file=sys.stderr, flush=True)
        if self.request_log is not None:
            with self._log_lock, self.request_log.open("a") as handle:
                handle.write(json.dumps(entry) + "\n")


def admin_path(path: str) -> bool:
    return path.startswith(ADMIN_PREFIX)


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    return redacted(body)


def _created(answer: Any) -> dict[str, Any]:
    """The id of what an answer carries (one resource or an action): the log says which droplet a request made."""
    if not isinstance(answer, dict) or len(answer) > 2:
        return {}
    for name, value in answer.items():
        if name != "links" and isinstance(value, dict) and "id" in value:
            return {"resource": name, "resource_id": value["id"], **({"resource_status": value["status"]} if isinstance(value.get("status"), str) else {})}
    return {}


def _handler(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            started = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(min(length, MAX_BODY_BYTES)) if length else b""
            headers = dict(self.headers.items())
            status, body, details = stand_in.answer(self.command, self.path, headers, raw_body, self.headers.get("Host", "127.0.0.1"))
            split = urlsplit(self.path)
            exchange = Exchange(
                self.command,
                split.path,
                dict(parse_qsl(split.query)),
                raw_body,
                status,
                body,
                headers={name: value for name, value in headers.items() if name.lower() in ("content-type",)},
            )
            if stand_in.check is not None and not admin_path(split.path) and (problems := stand_in.check.problems(exchange, tolerate_known_clients=True)):
                log.error("OpenAPI mismatch: %s", "; ".join(problems))
                details["openapi"] = problems
                status, body = 500, json.dumps({"id": "stand_in_openapi_mismatch", "message": "; ".join(problems), "request_id": str(uuid.uuid4())}).encode()
            for hook in stand_in.on_exchange:
                hook(exchange)
            # Logged before the client has the answer: whoever reads the log after an answer finds its line.
            entry = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started)) + f".{int(started * 1000) % 1000:03d}Z",
                "method": self.command,
                "path": split.path,
                "query": dict(parse_qsl(split.query)),
                "status": status,
                "duration_ms": round((time.time() - started) * 1000, 1),
                **details,
            }
            stand_in.record(entry)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Ratelimit-Limit", "5000")
            self.send_header("Ratelimit-Remaining", "4999")
            self.send_header("Ratelimit-Reset", str(int(started) + 60))
            self.end_headers()
            if body:
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve  # noqa: N815 - the names http.server dispatches to

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard library's name
            pass  # every request is logged once, by record()

    return Handler
