"""Fixtures for the DigitalOcean API stand-in's tests (helpers: tests/do_stand_in_harness.py).

- ``openapi_check`` (session): the validator built from DigitalOcean's published description, once;
- ``stand_in``: a running stand-in (api backend, every delay 0), stopped after the test;
- ``client``: a DigitalOcean client of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from do_stand_in_harness import Client, RecordingStandIn, start_stand_in

from do_stand_in.openapi import OpenApiCheck, description_path


@pytest.fixture(scope="session")
def openapi_check() -> OpenApiCheck:
    if not description_path().exists():
        pytest.fail(f"DigitalOcean's OpenAPI description is not at {description_path()} (shared/ beside the repository)", pytrace=False)
    return OpenApiCheck()


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[RecordingStandIn]:
    running = start_stand_in(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def client(stand_in: RecordingStandIn) -> Client:
    return Client(stand_in.url)
