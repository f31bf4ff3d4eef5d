"""AwsImageCopies built with explicit args: one retained AmiCopy per region, named like the source AMI."""

from __future__ import annotations

import pulumi
import pytest

from components.aws.image_copies import AwsImageCopies, AwsImageCopiesArgs, copy_tags
from offline.harness import run_under_mocks

AMI_COPY = "aws:ec2/amiCopy:AmiCopy"
IMAGE = "hello-1.4.2-0123456789ab"
TAGS = {"app": "hello", "stack": "aws-staging", "managed-by": "pulumi"}


def copies(regions: list[str], source_region: str = "us-east-1"):
    def body():
        made = AwsImageCopies("app-image-copies", AwsImageCopiesArgs(source_image_id="ami-0123456789abcdef0", source_region=source_region, image_name=IMAGE, regions=regions, tags=TAGS))
        pulumi.export("image_ids", made.image_ids)

    return run_under_mocks(body, stack="aws-staging")


def test_each_region_gets_one_copy_of_the_source_ami_under_its_name():
    run = copies(["us-west-2", "eu-west-1"])
    made = {copy.inputs["region"]: copy for copy in run.of_type(AMI_COPY)}
    assert sorted(made) == ["eu-west-1", "us-west-2"]
    for region, copy in made.items():
        assert copy.name == f"app-image-copies-{region}" and copy.parent_name == "app-image-copies", copy.name
        assert copy.inputs["sourceAmiId"] == "ami-0123456789abcdef0" and copy.inputs["sourceAmiRegion"] == "us-east-1", copy.name
        assert copy.inputs["name"] == IMAGE, f"{copy.name}: the promoting stack finds the AMI by this exact name"
        assert copy.inputs["encrypted"] is True, copy.name
        assert copy.inputs["tags"] == {**TAGS, "Name": IMAGE}, copy.name
        assert copy.id.startswith("ami-") and copy.outputs["arn"] == f"arn:aws:ec2:{region}::image/{copy.id}", copy.name
    assert run.outputs["image_ids"] == {region: copy.id for region, copy in made.items()}


def test_every_copy_outlives_its_resource():
    """The provider's delete deregisters the AMI and deletes its snapshots: a replaced or dropped copy must stay for rollback."""
    for copy in copies(["us-west-2"]).of_type(AMI_COPY):
        assert copy.options["retain_on_delete"] is True, copy.name
        assert not copy.options["protect"], f"{copy.name}: protect would refuse the replacement a new image needs"
        assert copy.options["custom_timeouts"] == {"create": "60m"}, copy.name


def test_no_regions_no_copies():
    run = copies([])
    assert run.of_type(AMI_COPY) == [] and run.outputs["image_ids"] == {}


@pytest.mark.parametrize(("regions", "message"), [(["us-east-1"], "own region"), (["us-west-2", "us-west-2"], "listed twice")])
def test_a_region_list_the_copies_cannot_make_is_refused_before_any_resource(regions, message):
    with pytest.raises(ValueError, match=message) as raised:
        copies(regions)
    assert raised.value.registered_resources == []  # type: ignore[attr-defined]


def test_copy_tags_name_the_image_and_keep_the_stacks():
    assert copy_tags({"app": "hello", "Name": "old"}, IMAGE) == {"app": "hello", "Name": IMAGE}
