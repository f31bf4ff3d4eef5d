"""What each image layer's content hash covers: the files its template uses, as git tracks them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pulumi
import pytest

from components.common.image_sources import LAYER_SOURCES, ImageSourceError, image_source_hashes, source_files

ROOT = Path(__file__).resolve().parents[3]


def tracked_image_files() -> list[str]:
    return subprocess.run(["git", "-C", str(ROOT), "ls-files", "images"], capture_output=True, text=True, check=True).stdout.split()


def copy_images(project: Path) -> Path:
    """The tracked files, links kept as links (a layer's folder links images/common's files)."""
    for relative in tracked_image_files():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, project / relative, follow_symlinks=False)
    return project


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git checkout holding this commit's images/ (added to the index: what ls-files lists)."""
    project = copy_images(tmp_path / "repo")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "add", "images"], check=True)
    return project


def hashes(project: Path):
    return image_source_hashes(project, base_image="debian-13-x64", app_name="hello")


def test_app_script_change_rebakes_the_app_but_not_the_base(repo):
    before = hashes(repo)
    with (repo / "images/scripts/app.sh").open("a") as script:
        script.write("# a change to the app's provisioning\n")
    after = hashes(repo)
    assert after.base == before.base, "the base template does not use app.sh"
    assert after.app != before.app


def test_base_script_change_rebakes_both_layers(repo):
    before = hashes(repo)
    with (repo / "images/scripts/base.sh").open("a") as script:
        script.write("# a change to the base's provisioning\n")
    after = hashes(repo)
    assert after.base != before.base and after.app != before.app, "the app builds on the base"


def test_a_shared_template_change_rebakes_both_layers(repo):
    before = hashes(repo)
    with (repo / "images/common/sources.pkr.hcl").open("a") as template:
        template.write("# a change to the sources both layers use\n")
    after = hashes(repo)
    assert after.base != before.base and after.app != before.app


def test_a_broken_link_to_a_shared_template_is_an_error(repo):
    (repo / "images/common/variables.pkr.hcl").unlink()
    with pytest.raises(ImageSourceError, match=r"images/common/variables\.pkr\.hcl does not exist"):
        hashes(repo)


def test_untracked_files_do_not_change_the_hash(repo):
    before = hashes(repo)
    (repo / "images/base/.DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (repo / "images/app/packer-manifest.json").write_text('{"builds": []}\n')
    (repo / "images/webapp/notes.txt").write_text("scratch\n")
    assert hashes(repo) == before


def test_a_file_a_layer_uses_but_git_does_not_track_is_an_error(repo):
    subprocess.run(["git", "-C", str(repo), "rm", "-q", "--cached", "images/scripts/cleanup.sh"], check=True)
    with pytest.raises(ImageSourceError, match=re.escape("git add images/scripts/cleanup.sh")):
        hashes(repo)


def test_outside_git_a_clean_export_hashes_as_its_checkout_and_junk_is_ignored(repo, tmp_path):
    export = copy_images(tmp_path / "export")
    assert hashes(export) == hashes(repo)
    (export / "images/base/.DS_Store").write_bytes(b"\0")
    (export / "images/app/packer-manifest.json").write_text("{}")
    assert hashes(export) == hashes(repo)
    (export / "images/webapp/static.css").write_text("body {}\n")
    assert hashes(export).app != hashes(repo).app, "outside git, every file but the listed junk counts"


def test_an_untracked_file_in_this_checkout_changes_no_hash():
    """The real checkout: an untracked file under images/ (removed after) changes nothing."""
    before = hashes(ROOT)
    stray = ROOT / "images" / "base" / "notes.txt"
    assert not stray.exists()
    try:
        stray.write_text("scratch\n")
        assert hashes(ROOT) == before
    finally:
        stray.unlink()


def template_references(layer: str) -> set[str]:
    """What a layer's template takes from outside its folder: the files it links and what its provisioners name (`${path.root}/../X`), as images/X."""
    found: set[str] = set()
    folder = ROOT / "images" / layer
    for template in folder.glob("*.pkr.hcl"):
        if template.is_symlink():
            found.add((folder / template.readlink()).resolve().relative_to(ROOT).as_posix())
        for build in hcl2.loads(template.read_text()).get("build", []):
            for provisioner in build.get("provisioner", []):
                for settings in provisioner.values():
                    # A download's source is a path in the builder, not one of the image's sources.
                    keys = ("scripts", "script") if str(settings.get("direction", "")).strip('"') == "download" else ("scripts", "script", "source")
                    values = [v for key in keys for v in _as_list(settings.get(key))]
                    for value in values:
                        match = re.fullmatch(r'"?\$\{path\.root\}/\.\./([^"]+)"?', value)
                        assert match, f"{template.name}: {value} is not under ${{path.root}}/..: add it to LAYER_SOURCES by hand"
                        found.add(f"images/{match.group(1).rstrip('/')}")
    return found


def _as_list(value) -> list[str]:
    return [] if value is None else value if isinstance(value, list) else [value]


@pytest.mark.parametrize("layer", sorted(LAYER_SOURCES))
def test_layer_sources_are_exactly_what_the_template_uses(layer):
    assert set(LAYER_SOURCES[layer]) == {f"images/{layer}"} | template_references(layer)
    assert source_files(ROOT, LAYER_SOURCES[layer])


def test_a_missing_layer_source_is_a_clean_program_error(repo):
    (repo / "images/scripts/cleanup.sh").unlink()
    with pytest.raises(ImageSourceError, match=r"images/scripts/cleanup\.sh does not exist") as caught:
        hashes(repo)
    assert isinstance(caught.value, pulumi.RunError), "the CLI prints a RunError's message alone, no traceback"
