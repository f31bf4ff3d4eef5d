"""benchmarks/boot.py refuses a bad command line before it bakes or boots anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "boot.py"), *arguments], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_a_missing_baseline_image_is_named(tmp_path):
    missing = tmp_path / "hello-1.4.1-0123456789ab.qcow2"
    result = run("--baseline-app", str(missing))
    assert result.returncode == 2
    assert f"argument --baseline-app: {missing}: no such file" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_no_boots_is_refused():
    result = run("--boots", "0")
    assert result.returncode == 2
    assert "--boots: at least 1, not 0" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
