"""scripts/patch-level (tools/patch_level.py): show and raise the base's patch level, compare two images' packages."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from components.common.patch_level import PATCH_LEVEL_FILE, read_patch_level
from tools.patch_level import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "images" / "base").mkdir(parents=True)
    shutil.copy(ROOT / PATCH_LEVEL_FILE, tmp_path / PATCH_LEVEL_FILE)
    return tmp_path


def test_raise_writes_now_in_utc_and_keeps_the_comments(project, capsys):
    before = (project / PATCH_LEVEL_FILE).read_text()
    assert main(["raise"], project_dir=project, now=datetime(2027, 1, 4, 5, 17, 9, tzinfo=UTC)) == 0
    after = (project / PATCH_LEVEL_FILE).read_text()
    assert read_patch_level(project) == "20270104T051709Z"
    comments = [line for line in before.splitlines() if line.startswith("#")]
    assert comments and [line for line in after.splitlines() if line.startswith("#")] == comments
    assert capsys.readouterr().out == f"{PATCH_LEVEL_FILE}: {read_patch_level(ROOT)} -> 20270104T051709Z\n"


@pytest.mark.parametrize(("level", "message"), [("20250101T000000Z", "is not newer than the current patch level"), ("next week", "--to: expected one line holding")])
def test_raise_refuses_an_older_or_malformed_level_and_writes_nothing(project, capsys, level, message):
    before = (project / PATCH_LEVEL_FILE).read_text()
    assert main(["raise", "--to", level], project_dir=project) == 2
    assert message in capsys.readouterr().err and (project / PATCH_LEVEL_FILE).read_text() == before


def manifest(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_diff_lists_the_upgraded_added_and_removed_packages(tmp_path, capsys):
    old = manifest(tmp_path / "old.packages", "libssl3t64\t3.5.1-1\tamd64", "openssh-server\t1:10.0p1-7\tamd64", "perl\t5.40.1-6\tamd64", "tzdata\t2025b-4\tall")
    new = manifest(tmp_path / "new.packages", "libssl3t64\t3.5.4-1~deb13u1\tamd64", "openssh-server\t1:10.0p1-7\tamd64", "tzdata\t2025c-0+deb13u1\tall", "zstd\t1.5.7+dfsg-1\tamd64")
    assert main(["diff", str(old), str(new)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"packages from {old} to {new}:",
        "  ~ libssl3t64 3.5.1-1 -> 3.5.4-1~deb13u1",
        "  ~ tzdata 2025b-4 -> 2025c-0+deb13u1",
        "  + zstd 1.5.7+dfsg-1",
        "  - perl 5.40.1-6",
        "2 changed, 1 added, 1 removed",
    ]


def test_diff_of_this_machines_own_manifest_with_itself_changes_nothing(tmp_path, capsys):
    """A manifest as manifest.sh writes it, from this machine's dpkg database."""
    environment = {"PATH": "/usr/bin:/bin", "MANIFEST_DIR": str(tmp_path), "PATCH_LEVEL": "20261207T000000Z"}
    subprocess.run(["sh", str(ROOT / "images" / "scripts" / "manifest.sh")], env=environment, check=True, capture_output=True, timeout=60)
    written = tmp_path / "packages.manifest"
    assert main(["diff", str(written), str(written)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 changed, 0 added, 0 removed"


@pytest.mark.parametrize(("content", "message"), [("", "an empty package manifest"), ("openssl 3.5.4\n", ":1: not a package manifest line")])
def test_diff_refuses_what_is_not_a_manifest_naming_the_file(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.packages"
    bad.write_text(content)
    good = manifest(tmp_path / "good.packages", "openssl\t3.5.4-1\tamd64")
    assert main(["diff", str(good), str(bad)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"patch-level: {bad}") and message in error


def test_the_script_shows_the_committed_level():
    result = subprocess.run([str(ROOT / "scripts" / "patch-level"), "show"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert (result.returncode, result.stdout.strip()) == (0, read_patch_level(ROOT)), result.stderr
