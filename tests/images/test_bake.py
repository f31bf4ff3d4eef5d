"""The local bake: the same templates through Packer's qemu source, layered and cached like the cloud bake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import require_tools

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "images" / "local"))

import bake as local_bake  # noqa: E402

from components.common.patch_level import read_patch_level  # noqa: E402
from offline.harness import run_program  # noqa: E402

TOOLS = ("packer", "qemu-system-x86_64", "qemu-img", "mmdebstrap", "extlinux", "ssh-keygen")


def test_local_bake_names_images_exactly_as_the_program_does():
    """The image the boot test boots is the one the staging stack would bake and name."""
    staging = run_program("staging")
    base_hash, app_hash = local_bake.source_hashes("hello")
    assert app_hash == staging.outputs["imageSourceHash"]
    level = read_patch_level(local_bake.PROJECT_DIR)
    assert staging.named("base-image-packer").inputs["environment"]["PKR_VAR_image_name"] == f"hello-staging-base-{level}-{base_hash}"
    assert staging.named("base-image-packer").inputs["environment"]["PKR_VAR_patch_level"] == level == staging.outputs["patchLevel"]


def test_cache_pruning_keeps_the_newest_of_each_layer(tmp_path):
    def layer(name: str, age: int) -> Path:
        folder = tmp_path / f"{name}.0123456789ab"
        folder.mkdir()
        qcow2 = folder / f"{name}.qcow2"
        qcow2.write_bytes(b"")
        (tmp_path / f"{folder.name}.manifest.json").write_text("{}")
        os.utime(qcow2, (1_000_000 - age, 1_000_000 - age))
        return qcow2

    apps = [layer(f"hello-1.4.{n}-0123456789ab", age=n) for n in range(5)]
    bases = [layer(f"hello-staging-base-00000000000{n}", age=n) for n in range(3)]
    local_bake.prune(tmp_path)
    assert [a.exists() for a in apps] == [True, True, True, False, False]
    assert [b.exists() for b in bases] == [True, True, False]
    assert not (tmp_path / "hello-1.4.4-0123456789ab.0123456789ab.manifest.json").exists()


@pytest.mark.slow
@require_tools(*TOOLS)
def test_bake_produces_layered_images_and_an_app_only_change_reuses_the_base():
    first = local_bake.bake(app_version="1.4.2")
    app, base = first["app"], first["base"]
    assert app.qcow2.exists() and base.qcow2.exists()
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(app.qcow2)], capture_output=True, text=True, timeout=60, check=True).stdout)
    assert info["format"] == "qcow2" and "backing-filename" not in info, "the app image must be self-contained"
    manifest = json.loads(app.manifest.read_text())
    (build,) = manifest["builds"]
    assert build["custom_data"]["app_version"] == "1.4.2"
    assert build["custom_data"]["source_hash"] == app.name.rsplit("-", 1)[1]
    assert build["custom_data"]["base_image"] == str(base.qcow2)
    base_manifest = json.loads(base.manifest.read_text())
    assert base_manifest["builds"][0]["custom_data"]["layer"] == "base"

    # A new app version is an app-only change: a new app image on the same, cached base. The version is
    # new to this cache whatever ran before (a second run of the test, a rehearsal that baked 1.4.3).
    version = f"1.4.{time.time_ns() // 1000 % 10**9}"
    second = local_bake.bake(app_version=version)
    assert second["base"].built is False and second["base"].qcow2 == base.qcow2
    assert second["app"].built is True and second["app"].name != app.name and f"-{version}-" in second["app"].name
    # And nothing changed at all: nothing is baked; the Python entry point the boot test uses agrees.
    third = local_bake.bake(app_version=version)
    assert third["app"].built is False and third["base"].built is False
    assert local_bake.bake_app_image(version) == second["app"].qcow2
