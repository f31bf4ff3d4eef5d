"""The serving contract: the image and the program agree on paths and on how long a server drains."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from components.common import serving
from components.digitalocean.load_balancer import HealthCheck

ROOT = Path(__file__).resolve().parents[3]


def app_constants() -> dict[str, object]:
    tree = ast.parse((ROOT / "images" / "webapp" / "app.py").read_text())
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)}


def test_the_image_serves_the_paths_the_program_checks():
    constants = app_constants()
    assert constants["READINESS_PATH"] == serving.READINESS_PATH and constants["HEALTH_PATH"] == serving.HEALTH_PATH
    assert constants["MAX_DRAIN_SECONDS"] == serving.MAX_DRAIN_SECONDS


def test_the_unit_waits_long_enough_for_the_longest_drain():
    unit = (ROOT / "images" / "webapp" / "webapp.service").read_text()
    stop_timeout = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.MULTILINE).group(1))
    assert stop_timeout >= serving.MAX_DRAIN_SECONDS + serving.IN_FLIGHT_GRACE_SECONDS


def test_drain_covers_the_balancers_detection_window():
    check = HealthCheck(path=serving.READINESS_PATH, port=8080)
    drain = serving.drain_seconds(check_interval_seconds=check.check_interval_seconds, response_timeout_seconds=check.response_timeout_seconds, unhealthy_threshold=check.unhealthy_threshold)
    assert drain >= check.unhealthy_threshold * check.check_interval_seconds + check.response_timeout_seconds
    assert drain == 20  # 3 checks x 5 s + 3 s + 2 s margin, with today's numbers


def test_a_detection_window_longer_than_the_image_drains_is_refused():
    with pytest.raises(ValueError, match="drains at most 60s"):
        serving.drain_seconds(check_interval_seconds=30, response_timeout_seconds=10, unhealthy_threshold=3)
