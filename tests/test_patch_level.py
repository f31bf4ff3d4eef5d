"""A patch-level change (images/base/patch-level) under the whole program: both layers bake anew, every
server is replaced, and the plan diff says so; a malformed level stops the program before any resource."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import DROPLET

import offline.stack_config as stack_config
from components.common.patch_level import PATCH_LEVEL_FILE, read_patch_level
from offline.harness import PROJECT_DIR, run_program
from offline.plan import build_plan, diff_plans, render_diff

NEXT_LEVEL = "20261214T000000Z"


def checkout_at(tmp_path: Path, level_text: str) -> Path:
    """This checkout's program and images, with ``level_text`` as its patch level file."""
    project = tmp_path / "project"
    shutil.copytree(stack_config.PROJECT_DIR, project, ignore=shutil.ignore_patterns(".venv", ".git", "*.qcow2", ".cache", "__pycache__"))
    (project / PATCH_LEVEL_FILE).write_text(level_text)
    return project


@pytest.fixture(scope="module")
def raised(tmp_path_factory) -> Path:
    return checkout_at(tmp_path_factory.mktemp("raised"), f"# raised by the weekly workflow\n{NEXT_LEVEL}\n")


def test_raising_the_patch_level_bakes_both_layers_and_replaces_every_droplet(raised, staging, monkeypatch):
    current = read_patch_level(PROJECT_DIR)
    monkeypatch.setattr(stack_config, "PROJECT_DIR", raised)
    changed = run_program("staging", main=raised / "__main__.py")
    assert current != NEXT_LEVEL and staging.outputs["patchLevel"] == current and changed.outputs["patchLevel"] == NEXT_LEVEL
    base = changed.named("base-image-packer").inputs
    assert base["environment"]["PKR_VAR_patch_level"] == NEXT_LEVEL and f"-base-{NEXT_LEVEL}-" in base["environment"]["PKR_VAR_image_name"]
    for layer in ("base-image-packer", "app-image-packer"):
        assert changed.named(layer).inputs["triggers"] != staging.named(layer).inputs["triggers"], f"{layer} would not bake"
    assert changed.outputs["imageSourceHash"] != staging.outputs["imageSourceHash"]
    before = {d.name: d.inputs for d in staging.of_type(DROPLET)}
    for droplet in changed.of_type(DROPLET):
        assert droplet.inputs["image"] != before[droplet.name]["image"], f"{droplet.name} would keep the old packages"


def test_the_plan_diff_shows_a_patch_level_change_as_two_bakes_and_a_full_replacement(raised, monkeypatch):
    old = build_plan("staging")
    monkeypatch.setattr(stack_config, "PROJECT_DIR", raised)
    new = build_plan("staging", main=raised / "__main__.py")
    changes = {change.name: change.action for change in diff_plans(old, new)}
    for name in ("base-image-packer", "app-image-packer", "fleet-0", "fleet-1", "fleet-gate-0-wait"):
        assert changes.get(name) == "replace", (name, changes.get(name))
    text = render_diff(old, new)
    assert f"-> {NEXT_LEVEL}" in text and "patchLevel" in text, text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-12-07\n", "expected one line holding a UTC timestamp YYYYMMDDTHHMMSSZ"),
        ("20261207T000000Z\n20261214T000000Z\n", "found 2 non-comment lines"),
        ("20261332T000000Z\n", "is not a real date and time"),
    ],
)
def test_a_malformed_patch_level_stops_the_program_naming_the_file(tmp_path, monkeypatch, capsys, text, message):
    project = checkout_at(tmp_path, text)
    monkeypatch.setattr(stack_config, "PROJECT_DIR", project)
    with pytest.raises(Exception) as raised_error:
        run_program("staging", main=project / "__main__.py")
    assert PATCH_LEVEL_FILE in str(raised_error.value) and message in str(raised_error.value)
