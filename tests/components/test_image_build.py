"""ImageBuild and PromotedImage built with explicit args."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from components.common.packer_output import parse_artifact_id
from components.digitalocean.promoted_image import ImageNotFoundError, PromotedImage, PromotedImageArgs
from components.image_build import PACKER_INTERPRETER, REUSE_PREVIOUS_BAKE, ImageBuild, ImageBuildArgs, packer_command
from offline.harness import RealisticMocks, run_under_mocks

TRANSCRIPT = Path(__file__).resolve().parents[1] / "data" / "packer" / "null-build.machine-readable.txt"


def test_image_build_runs_packer_once_and_hands_on_the_snapshot_id():
    def body():
        import pulumi

        build = ImageBuild(
            "app",
            ImageBuildArgs(
                template_dir="images/app",
                build="digitalocean.app",
                image_name="shop-2.0.1-0123456789ab",
                source_hash="0123456789ab",
                variables={"region": "fra1", "snapshot_regions": ["fra1", "ams3"], "base_image": "111"},
                extra_triggers=["111"],
            ),
        )
        pulumi.export("image_id", build.image_id)

    run = run_under_mocks(body)
    bake, copy = run.named("app-packer"), run.named("app-copy")
    assert bake.parent_name == "app" and copy.parent_name == "app"
    assert bake.inputs["environment"] == {
        "PKR_VAR_base_image": "111",
        "PKR_VAR_image_name": "shop-2.0.1-0123456789ab",
        "PKR_VAR_package_manifest_path": "shop-2.0.1-0123456789ab.packages",
        "PKR_VAR_region": "fra1",
        "PKR_VAR_snapshot_regions": '["fra1", "ams3"]',
    }
    assert bake.inputs["triggers"] == ["0123456789ab", "shop-2.0.1-0123456789ab", "111"]
    assert bake.inputs["update"] == REUSE_PREVIOUS_BAKE, "an update must never re-run Packer under the same name"
    assert "delete" not in bake.inputs and "delete" not in copy.inputs, "a bake must never delete the snapshot a rollback needs"
    assert run.outputs["image_id"] in bake.outputs["stdout"]
    assert copy.inputs["create"] == f"python3 tools/copy_image.py --image {run.outputs['image_id']} --regions fra1,ams3"
    assert copy.inputs["triggers"] == [run.outputs["image_id"], ["fra1", "ams3"]]


def test_new_copy_region_copies_the_snapshots_and_bakes_nothing(staging, run_with):
    """A changed region list must not re-run Packer: a re-bake under the same name is an image staging never tested."""
    copied = run_with("staging", {"imageCopyRegions": ["ams3", "fra1"]})
    for layer in ("base-image", "app-image"):
        before, after = staging.named(f"{layer}-packer").inputs, copied.named(f"{layer}-packer").inputs
        for key in ("create", "triggers", "update", "interpreter"):
            assert after[key] == before[key], f"{layer}-packer: {key} changed"
        assert "packer" not in after["update"], f"{layer}-packer: its update would run Packer"
        assert copied.named(f"{layer}-copy").inputs["triggers"][1] == ["nyc3", "ams3", "fra1"], layer
        assert copied.named(f"{layer}-copy").inputs["triggers"] != staging.named(f"{layer}-copy").inputs["triggers"], layer
        assert "--regions nyc3,ams3,fra1" in copied.named(f"{layer}-copy").inputs["create"], layer
    assert copied.outputs["imageName"] == staging.outputs["imageName"]
    assert copied.outputs["imageId"] == staging.outputs["imageId"]


def fake_packer(tmp_path: Path, exit_code: int) -> dict[str, str]:
    """A `packer` on PATH that prints the real transcript (tests/data/packer) and records that it ran."""
    script = tmp_path / "bin" / "packer"
    script.parent.mkdir(parents=True)
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/packer-ran\n[ "$1" = init ] && exit 0\ncat {TRANSCRIPT}\nexit {exit_code}\n')
    script.chmod(0o755)
    return {"PATH": f"{script.parent}:{os.environ['PATH']}"}


def run_shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*PACKER_INTERPRETER, command], env=env, capture_output=True, text=True, timeout=60)


def test_bake_keeps_only_the_artifact_lines_and_a_failed_build_fails(tmp_path):
    env = fake_packer(tmp_path, exit_code=0)
    done = run_shell(packer_command("packer", "null.app", "images/app"), env)
    assert done.returncode == 0
    assert all(",artifact," in line for line in done.stdout.splitlines()) and ",ui," in done.stderr
    assert parse_artifact_id(done.stdout, "null.app") == "Null"
    failed = run_shell(packer_command("packer", "null.app", "images/app"), fake_packer(tmp_path / "failing", exit_code=1))
    assert failed.returncode != 0, "a failed packer build must fail the Command, pipe or not"


def test_bake_update_hands_on_the_previous_artifact_without_running_packer(tmp_path):
    env = fake_packer(tmp_path, exit_code=0)
    previous = run_shell(packer_command("packer", "null.app", "images/app"), env).stdout
    (tmp_path / "packer-ran").unlink()
    update = run_shell(REUSE_PREVIOUS_BAKE, {**env, "PULUMI_COMMAND_STDOUT": previous})
    assert update.returncode == 0 and not (tmp_path / "packer-ran").exists()
    assert parse_artifact_id(update.stdout, "null.app") == parse_artifact_id(previous, "null.app")


def test_promoted_image_looks_up_the_snapshot_by_name_and_runs_nothing():
    def body():
        import pulumi

        image = PromotedImage("app", PromotedImageArgs(image_name="shop-2.0.1-0123456789ab", region="fra1"))
        pulumi.export("image_id", image.image_id)

    run = run_under_mocks(body, mocks=RealisticMocks("test", snapshots={"shop-2.0.1-0123456789ab": "4242"}))
    assert run.outputs["image_id"] == "4242"
    assert [r.type for r in run.resources] == ["immutable-web:image:PromotedImage"]


def test_promoted_image_missing_is_a_clear_error():
    with pytest.raises(ImageNotFoundError, match="not found in region fra1"):
        run_under_mocks(lambda: PromotedImage("app", PromotedImageArgs(image_name="shop-9.9.9-0123456789ab", region="fra1")))
