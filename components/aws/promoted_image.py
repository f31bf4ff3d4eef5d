"""AwsPromotedImage: use the AMI a baking stack proved, found by its deterministic name among the account's own images.

Promote mode (aws-prod) never runs Packer: it looks up the AMI the baking stack
(aws-staging) built and proved, by exactly the name the bake gave it
(`components.naming.app_image_name`), with `owners=["self"]` so an AMI someone
else published under that name can never be picked. Only the provider's "no
results" answer means "not baked"; any other failure says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.digitalocean.promoted_image import ImageLookupError, ImageNotFoundError

# terraform-provider-aws, internal/service/ec2/ec2_ami_data_source.go, dataSourceAMIRead.
NOT_FOUND_PATTERN = re.compile(r"your query returned no results", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class AwsPromotedImageArgs:
    image_name: str
    """Exact AMI name the baking stack printed as `imageName`."""
    region: str
    """The AMI must exist here (the baking stack copies it via imageCopyRegions)."""


def lookup_ami_id(image_name: str, region: str, parent: pulumi.Resource | None = None) -> str:
    """The AMI id, or a clear error: "not baked yet" only when the provider says there is no such image."""
    try:
        result = aws.ec2.get_ami(
            owners=["self"],
            filters=[aws.ec2.GetAmiFilterArgs(name="name", values=[image_name])],
            # EC2 refuses a second AMI with the same name in an account and region: at most one matches.
            most_recent=False,
            opts=pulumi.InvokeOptions(parent=parent),
        )
    except Exception as error:  # the SDK raises every invoke failure as a plain Exception carrying the provider's message
        if NOT_FOUND_PATTERN.search(str(error)):
            raise ImageNotFoundError(
                f"AMI {image_name!r} was not found among this account's images in {region}: the promoting stack pins "
                f"immutable-web:appVersion and immutable-web:imageSourceHash to an image that has not been baked "
                f"(or not copied to {region}). Deploy the baking stack first (pulumi up --stack aws-staging, with "
                f"{region} in its imageCopyRegions) and copy its `imageSourceHash` output. ({error})"
            ) from error
        raise ImageLookupError(f"could not look up AMI {image_name!r} in {region}: {error}. This is not a missing image: check the AWS credentials and the region, then run again.") from error
    return result.id


class AwsPromotedImage(pulumi.ComponentResource):
    image_id: pulumi.Output[str]
    image_name: pulumi.Output[str]

    def __init__(self, name: str, args: AwsPromotedImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:aws:PromotedImage", name, None, opts)
        self.image_id = pulumi.Output.from_input(lookup_ami_id(args.image_name, args.region, parent=self))
        self.image_name = pulumi.Output.from_input(args.image_name)
        self.register_outputs({"image_id": self.image_id, "image_name": self.image_name})
