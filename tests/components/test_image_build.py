"""ImageBuild and PromotedImage built with explicit args."""

from __future__ import annotations

import pytest

from components.image_build import ImageBuild, ImageBuildArgs
from components.promoted_image import ImageNotFoundError, PromotedImage, PromotedImageArgs
from offline.harness import RealisticMocks, run_under_mocks


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
    (command,) = run.of_type("command:local:Command")
    assert command.parent_name == "app"
    assert command.inputs["environment"] == {
        "PKR_VAR_base_image": "111",
        "PKR_VAR_image_name": "shop-2.0.1-0123456789ab",
        "PKR_VAR_region": "fra1",
        "PKR_VAR_snapshot_regions": '["fra1", "ams3"]',
    }
    assert command.inputs["triggers"] == ["0123456789ab", "shop-2.0.1-0123456789ab", "111"]
    assert "delete" not in command.inputs, "a bake must never delete the snapshot a rollback needs"
    assert run.outputs["image_id"] in command.outputs["stdout"]


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
