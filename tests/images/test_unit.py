"""The app's systemd unit: it verifies, and it is hardened."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "images" / "webapp" / "webapp.service"
pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")


def verify(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=120)


def test_unit_verifies(tmp_path):
    unit = tmp_path / "webapp.service"
    shutil.copy(UNIT, unit)
    result = verify(unit)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_verify_catches_a_broken_unit(tmp_path):
    unit = tmp_path / "webapp.service"
    unit.write_text(UNIT.read_text().replace("ExecStart=/usr/bin/python3", "ExecStart=/nonexistent/python3"))
    assert verify(unit).returncode != 0


def test_unit_is_hardened_and_runs_as_its_own_user():
    text = UNIT.read_text()
    for directive in ("User=webapp", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "CapabilityBoundingSet=\n", "EnvironmentFile=/etc/webapp/app.env", "After=cloud-init.service"):
        assert directive in text, directive


def exposure(unit: Path) -> float:
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


def test_security_exposure_is_low(tmp_path):
    """systemd's own score (0 = fully confined, 10 = exposed); `benchmarks/images.py` prints it."""
    unit = tmp_path / "webapp.service"
    shutil.copy(UNIT, unit)
    assert exposure(unit) <= 2.0
