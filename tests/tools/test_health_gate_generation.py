"""The gate's generation mode (AWS: an auto-scaling group starts the instances, so their ids are not known in advance)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from health_gate import Gate, Observation, main  # noqa: E402


def answer(instance: str, generation: str | None, status: int = 200, version: str = "2.0.0") -> Observation:
    return Observation(status=status, instance=instance, version=version, state="ok" if status == 200 else "unhealthy", generation=generation)


def test_only_instances_of_the_expected_generation_count():
    gate = Gate(expected_instances=frozenset(), expected_version="2.0.0", expected_generation="new", expected_count=2)
    for _ in range(5):
        gate.observe(answer("i-old1", "old"))
        gate.observe(answer("i-old2", "old"))
    assert not gate.passed(), "healthy answers from the previous generation must never pass the gate"
    assert gate.waiting_for() == ["2 more instance(s) of generation new"]
    gate.observe(answer("i-new1", "new"))
    gate.observe(answer("i-new1", "new"))
    assert not gate.passed() and gate.waiting_for() == ["1 more instance(s) of generation new"]
    gate.observe(answer("i-new2", "new"))
    assert gate.waiting_for() == ["i-new2"]
    gate.observe(answer("i-new2", "new"))
    assert gate.passed()
    assert gate.summary(1.0)["instances"]["i-old1"]["expected"] is False
    assert gate.other_answers == 10


def test_a_new_instance_that_flaps_does_not_count():
    gate = Gate(expected_instances=frozenset(), expected_version="2.0.0", expected_generation="new", expected_count=1)
    for status in (200, 503, 200, 503, 200):
        gate.observe(answer("i-new1", "new", status))
    assert not gate.passed()
    gate.observe(answer("i-new1", "new"))
    assert gate.passed()


def test_the_new_generation_with_the_old_version_does_not_pass():
    gate = Gate(expected_instances=frozenset(), expected_version="2.0.0", expected_generation="new", expected_count=1)
    for _ in range(3):
        gate.observe(answer("i-new1", "new", version="1.9.0"))
    assert not gate.passed()


class _Fleet(BaseHTTPRequestHandler):
    """Answers like the app behind a load balancer, round-robin over `answers`."""

    answers: ClassVar[list[dict]] = []
    turn = 0

    def do_GET(self) -> None:
        body = json.dumps(self.answers[_Fleet.turn % len(self.answers)]).encode()
        _Fleet.turn += 1
        self.send_response(200 if json.loads(body)["status"] == "ok" else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fleet():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fleet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _run(fleet, *arguments: str) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{fleet.server_address[1]}/healthz"
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "health_gate.py"), "--url", url, "--expect-version", "2.0.0", "--interval", "0.05", "--request-timeout", "2", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


def test_old_generation_serving_healthy_fails_the_gate_over_http(fleet):
    _Fleet.answers = [{"status": "ok", "version": "2.0.0", "instance": f"i-old{n}", "generation": "g-old"} for n in range(2)]
    code, summary = _run(fleet, "--expect-generation", "g-new", "--expect-count", "1", "--timeout", "2")
    assert code == 1 and summary["healthy"] is False
    assert summary["missing"] == ["1 more instance(s) of generation g-new"]


def test_new_generation_passes_over_http_beside_the_old_one(fleet):
    _Fleet.answers = [
        {"status": "ok", "version": "1.9.0", "instance": "i-old1", "generation": "g-old"},
        {"status": "ok", "version": "2.0.0", "instance": "i-new1", "generation": "g-new"},
        {"status": "ok", "version": "2.0.0", "instance": "i-new2", "generation": "g-new"},
    ]
    code, summary = _run(fleet, "--expect-generation", "g-new", "--expect-count", "2", "--timeout", "30")
    assert code == 0 and summary["healthy"] is True
    assert {name for name, record in summary["instances"].items() if record["expected"]} == {"i-new1", "i-new2"}


@pytest.mark.parametrize(
    "arguments",
    [
        ["--expect-generation", "g"],
        ["--expect-count", "2"],
        ["--expect-generation", "g", "--expect-count", "0"],
        ["--expect-generation", "g", "--expect-count", "1", "--expect-instances", "i-1"],
    ],
)
def test_generation_mode_refuses_incomplete_or_mixed_arguments(arguments, capsys):
    assert main(["--url", "http://127.0.0.1:9/healthz", "--expect-version", "1", *arguments]) == 2
    assert "--expect-" in capsys.readouterr().err
