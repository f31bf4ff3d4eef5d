"""Helpers for the DigitalOcean API stand-in's tests (the fixtures are in tests/do_stand_in/conftest.py).

- ``start_stand_in``: a running stand-in (api backend, every delay 0 unless asked) whose exchanges are kept in
  ``exchanges`` and whose request log is ``request_log``;
- ``Client``: calls it as a DigitalOcean client does (bearer token, JSON); ``expect`` checks the status;
- ``invalid_exchanges``: what DigitalOcean's OpenAPI description does not allow in them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from do_stand_in.backends.api import ApiBackend
from do_stand_in.openapi import Exchange, OpenApiCheck
from do_stand_in.server import StandIn
from do_stand_in.store import Delays

TOKEN = "stand-in-test-token"


class Client:
    def __init__(self, url: str, token: str | None = TOKEN):
        self.url = url
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def expect(self, status: int, method: str, path: str, body: Any = None) -> Any:
        got, answer = self.call(method, path, body)
        assert got == status, f"{method} {path}: {got} {answer}"
        return answer


class RecordingStandIn(StandIn):
    exchanges: list[Exchange]
    request_log: Path

    def log_entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.request_log.read_text().splitlines()]


def start_stand_in(tmp_path: Path, **options: Any) -> RecordingStandIn:
    options.setdefault("backend", ApiBackend())
    options.setdefault("delays", Delays.all(0))
    stand_in = RecordingStandIn(request_log=tmp_path / "requests.jsonl", **options)
    stand_in.exchanges = []
    stand_in.on_exchange.append(stand_in.exchanges.append)
    return stand_in.start()


def invalid_exchanges(check: OpenApiCheck, exchanges: list[Exchange]) -> list[str]:
    return [problem for exchange in exchanges for problem in check.problems(exchange)]
