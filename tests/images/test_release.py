"""The rehearsal's next release: a copy of this checkout plus an expand migration, named as the program names it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from components.common.image_sources import image_source_hashes
from offline.harness import run_program

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "images" / "local"))

from release import EXPAND_0002, MIGRATION_FILE, next_release, tracked_files  # noqa: E402


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return next_release(tmp_path_factory.mktemp("next-release"))


def hashes(project_dir: Path):
    return image_source_hashes(project_dir, base_image="debian-13-x64", app_name="hello")


def test_the_copy_is_the_checkout_plus_one_migration(release):
    copied = {path for path in release.rglob("*") if path.is_file()}
    assert copied == {release / relative for relative in tracked_files()} | {release / MIGRATION_FILE}
    assert (release / MIGRATION_FILE).read_text() == EXPAND_0002
    assert (release / "__main__.py").read_bytes() == (ROOT / "__main__.py").read_bytes()


def test_only_the_app_layer_changes(release):
    # Hashed outside git (the copy is no checkout) as the program hashes a checkout: same base, new app.
    here, there = hashes(ROOT), hashes(release)
    assert there.base == here.base
    assert there.app != here.app


def test_the_program_run_from_the_release_names_its_image(release):
    current = run_program("staging")
    bumped = run_program("staging", config_overrides={"appVersion": "1.4.3"}, main=release / "__main__.py")
    assert str(current.outputs["imageName"]).endswith(hashes(ROOT).app)
    assert bumped.outputs["imageName"] == f"hello-staging-1.4.3-{hashes(release).app}"


def test_a_migration_of_that_number_already_in_the_project_is_refused(tmp_path):
    project = tmp_path / "project"
    (project / MIGRATION_FILE).parent.mkdir(parents=True)
    (project / MIGRATION_FILE).write_text(EXPAND_0002)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True, timeout=60)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True, timeout=60)
    with pytest.raises(FileExistsError, match=r"0002_next\.py"):
        next_release(tmp_path / "release", project_dir=project)


def test_a_release_that_raises_the_patch_level_changes_both_layers(tmp_path):
    """The rehearsal's next release raises the level a week: a new base under the new app, named with the new level."""
    from scenarios import next_week

    from components.common.patch_level import read_patch_level

    current = read_patch_level(ROOT)
    raised = next_release(tmp_path / "raised", patch_level=next_week(current))
    assert read_patch_level(raised) == next_week(current) != current
    here, there = hashes(ROOT), hashes(raised)
    assert there.base != here.base and there.app != here.app
    comments = [line for line in (ROOT / "images/base/patch-level").read_text().splitlines() if line.startswith("#")]
    assert [line for line in (raised / "images/base/patch-level").read_text().splitlines() if line.startswith("#")] == comments


def test_a_release_may_not_lower_the_patch_level(tmp_path):
    with pytest.raises(ValueError, match="must be newer than"):
        next_release(tmp_path / "lowered", patch_level="20250101T000000Z")
