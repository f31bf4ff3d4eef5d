"""tools/copy_image.py: which regions it copies to, and a clear refusal without a token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.copy_image import missing_regions

ROOT = Path(__file__).resolve().parents[2]


def test_only_regions_the_snapshot_is_not_in_are_copied_once_each():
    assert missing_regions(["nyc3"], ["nyc3", "ams3", "fra1", "ams3"]) == ["ams3", "fra1"]
    assert missing_regions(["nyc3", "ams3"], ["ams3", "nyc3"]) == []


def test_without_a_token_it_says_so_and_calls_nothing():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "copy_image.py"), "--image", "123", "--regions", "nyc3,ams3"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "DIGITALOCEAN_TOKEN is not set" in result.stderr and result.stdout == ""
