"""Checks an exchange (a request and its answer) against DigitalOcean's published OpenAPI description, with openapi-core.

The description is the bundled document in the project's shared data
(``shared/digitalocean-openapi/``, beside the repository; ``DO_STAND_IN_OPENAPI`` names
another file). Building the validator skips openapi-core's own check of the description
(about a minute on two cores): the description is DigitalOcean's, fixed, and checked once
by a test of its own; what is checked here is every exchange.

Three defects of the bundled document are repaired before the check (``repair`` says which, and
how many; a test holds each to what the original files say):

- ``discriminator`` mappings that still point at the original files (``models/droplet_actions.yml#/...``),
  which no validator can resolve in one document: dropped, so the ``anyOf``/``oneOf`` beside them decides;
- YAML 1.1 read ``off`` (a droplet's status) as the boolean ``false`` in enums: back to ``"off"``
  (and ``on`` likewise);
- ``readOnly`` on path and query parameters' schemas (the SSH key's id or fingerprint), which
  openapi-core applies to requests: dropped there (readOnly is about bodies).

What a real client is known to send against the description (``KNOWN_CLIENT_DEVIATIONS``, each with
its reason) is tolerated in a request where asked (the server's check mode), never in an answer.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DESCRIPTION = Path(__file__).resolve().parents[1].parent / "shared" / "digitalocean-openapi" / "DigitalOcean-public.v2.bundled.json.gz"


def description_path() -> Path:
    return Path(os.environ.get("DO_STAND_IN_OPENAPI", str(DEFAULT_DESCRIPTION)))


def load_description(path: Path | None = None) -> dict[str, Any]:
    with gzip.open(path or description_path(), "rt") as handle:
        return json.load(handle)


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the client sent and got them (the bearer token left out)."""

    method: str
    path: str
    query: dict[str, str]
    request_body: bytes
    status: int
    response_body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)

    def label(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


def repair(description: dict[str, Any]) -> dict[str, int]:
    """Repair the bundled document's defects in place (see the module's docstring); how many of each."""
    counts = {"file discriminators": 0, "yaml booleans in enums": 0, "readOnly parameters": 0}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            mapping = node.get("discriminator", {}).get("mapping", {})
            if any(not target.startswith("#") for target in mapping.values()):
                del node["discriminator"]
                counts["file discriminators"] += 1
            enum = node.get("enum")
            if isinstance(enum, list) and any(isinstance(value, str) for value in enum) and any(isinstance(value, bool) for value in enum):
                node["enum"] = [("on" if value else "off") if isinstance(value, bool) else value for value in enum]
                counts["yaml booleans in enums"] += 1
            if node.get("in") in ("path", "query") and isinstance(node.get("schema"), dict):
                for schema in [node["schema"], *node["schema"].get("anyOf", []), *node["schema"].get("oneOf", [])]:
                    if schema.pop("readOnly", None) is not None:
                        counts["readOnly parameters"] += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(description)
    return counts


class OpenApiCheck:
    def __init__(self, description: dict[str, Any] | None = None):
        from openapi_core import Config, OpenAPI

        description = description if description is not None else load_description()
        self.repaired = repair(description)
        self.server = description["servers"][0]["url"].rstrip("/")
        self.api = OpenAPI.from_dict(description, config=Config(spec_validator_cls=None))

    def problems(self, exchange: Exchange, *, tolerate_known_clients: bool = False) -> list[str]:
        """What in the request and in the answer the description does not allow (empty: both valid).

        ``tolerate_known_clients``: leave out a request's mismatches that a real client is known to send
        (``KNOWN_CLIENT_DEVIATIONS``), when they are all it has; the answer is always checked in full.
        """
        from openapi_core.testing import MockRequest, MockResponse

        request = MockRequest(
            self.server,
            exchange.method.lower(),
            exchange.path,
            args=exchange.query,
            headers={"Authorization": "Bearer checked", "Content-Type": "application/json", **exchange.headers},
            data=exchange.request_body or None,
            content_type="application/json",
        )
        found = []
        try:
            self.api.validate_request(request)
        except Exception as error:  # noqa: BLE001 - openapi-core raises one class per kind of mismatch: each is a finding, whatever its class
            if not (tolerate_known_clients and known_client_deviation(exchange, error)):
                found.append(f"request of {exchange.label()}: {_describe(error)}")
        response = MockResponse(exchange.response_body, status_code=exchange.status, content_type="application/json", headers=exchange.response_headers)
        try:
            self.api.validate_response(request, response)
        except Exception as error:  # noqa: BLE001 - as above
            found.append(f"answer of {exchange.label()}: {_describe(error)}")
        return found


# What a real client sends that the description does not allow: (why, the request paths, what each schema error says).
KNOWN_CLIENT_DEVIATIONS = [
    (
        'godo omits an empty port range (`json:"ports,omitempty"`), which is how the provider sends an icmp firewall rule',
        re.compile(r"^/v2/firewalls(/[^/]+(/rules)?)?$"),
        re.compile(r"^\[(inbound|outbound)_rules, \d+\]: 'ports' is a required property$"),
    ),
]


def known_client_deviation(exchange: Exchange, error: BaseException) -> bool:
    """Whether every schema error of a request is one a known client sends (and there is at least one)."""
    errors = [f"[{', '.join(map(str, nested.absolute_path))}]: {nested.message}" for nested in _schema_errors(error)]
    return bool(errors) and any(paths.match(exchange.path) and all(message.match(text) for text in errors) for _, paths, message in KNOWN_CLIENT_DEVIATIONS)


def _schema_errors(error: BaseException) -> list[Any]:
    found = list(getattr(error, "schema_errors", ()) or ())
    if error.__cause__ is not None:
        found += list(getattr(error.__cause__, "schema_errors", ()) or ())
    return found


def _describe(error: BaseException) -> str:
    details = [str(error)]
    for nested in getattr(error, "schema_errors", ()) or ():
        details.append(f"{list(nested.absolute_path)}: {nested.message}")
    cause = error.__cause__
    if cause is not None:
        details.append(str(cause)[:2000])
        for nested in getattr(cause, "schema_errors", ()) or ():
            details.append(f"{list(nested.absolute_path)}: {nested.message}")
    return "; ".join(details)
