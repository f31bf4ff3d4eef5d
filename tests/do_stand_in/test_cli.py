"""`do-stand-in serve`: one line and exit 2 on a bad argument; serves, logs and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from do_stand_in.cli import main

START_TIMEOUT_SECONDS = 30


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["serve", "--address", "0.0.0.0:8080", "--backend", "api"], "argument --address: '0.0.0.0:8080' is not 127.0.0.1:PORT"),
        (["serve", "--address", "127.0.0.1:80000", "--backend", "api"], "argument --address"),
        (["serve", "--address", "127.0.0.1:0", "--backend", "vm"], "argument --backend: invalid choice: 'vm' (choose from 'api', 'process')"),
        (["serve", "--address", "127.0.0.1:0", "--backend", "api", "--delay", "-1"], "argument --delay"),
        (["serve", "--address", "127.0.0.1:0", "--backend", "api", "--image", "hello"], "argument --image: 'hello' is not NAME@REGION"),
        (["serve", "--backend", "api"], "the following arguments are required: --address"),
    ],
)
def test_a_bad_argument_is_one_line_naming_it_and_exit_2(arguments: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(arguments)
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("do-stand-in: ") and named in lines[0], lines


def test_serve_answers_logs_every_request_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    command = [sys.executable, "-m", "do_stand_in", "serve", "--address", "127.0.0.1:0", "--backend", "api", "--request-log", str(log), "--image", "hello-1.4.2-3f5ca7d2224a@nyc3,sfo3"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert process.stderr is not None
        url = ""
        for _ in range(20):
            line = process.stderr.readline()
            if "serving DigitalOcean's API at " in line:
                url = line.split(" at ")[1].split()[0]
                break
        assert url, "the stand-in did not say where it serves"
        request = urllib.request.Request(url + "/v2/snapshots?resource_type=droplet", headers={"Authorization": "Bearer t"})
        with urllib.request.urlopen(request, timeout=10) as response:
            snapshots = json.loads(response.read())["snapshots"]
        assert [(snapshot["name"], snapshot["regions"]) for snapshot in snapshots] == [("hello-1.4.2-3f5ca7d2224a", ["nyc3", "sfo3"])]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=START_TIMEOUT_SECONDS) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert [json.loads(line)["path"] for line in log.read_text().splitlines()] == ["/v2/snapshots"]
