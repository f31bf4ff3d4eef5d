"""Routes: (method, path pattern) -> handler, and the request a handler sees.

A pattern's ``{name}`` parts match one path segment each and reach the handler as ``request.params``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from do_stand_in.errors import bad_request, unprocessable


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    base_url: str = ""
    """Scheme and host the client asked (``http://127.0.0.1:PORT``): list answers link their other pages with it."""
    params: dict[str, str] = field(default_factory=dict)

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise bad_request("The request body must be a JSON object.")
        return self.body

    def required(self, name: str, kind: type | tuple[type, ...] = str) -> Any:
        value = self.json_object().get(name)
        if value is None or value == "":
            raise unprocessable(f"{name} is required.")
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise unprocessable(f"{name} has the wrong type.")
        return value

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise bad_request(f"{name} must be an integer.") from None


# A handler answers (status, JSON body or None for an empty 204).
Answer = tuple[int, Any]
Handler = Callable[[Request], Answer]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    if pattern not in _COMPILED:
        _COMPILED[pattern] = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "/?$")
    return _COMPILED[pattern]


class Router:
    def __init__(self, routes: Iterable[Route]):
        self.routes = list(routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method == method and (found := route.regex.match(path)):
                return route, found.groupdict()
        return None
