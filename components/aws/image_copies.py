"""AwsImageCopies: the baked app AMI, copied to every region a promoting stack runs in.

Creates one `aws.ec2.AmiCopy` (`<name>-<region>`) per region in the baking
stack's `imageCopyRegions`, named exactly like the source AMI: a promoting stack
in that region (aws-prod elsewhere) finds it by that name among the account's
own images (components/aws/promoted_image.py). The copies are resources of their
own, not part of the Packer bake, so adding a region to an image that is already
baked copies that same, tested AMI there and bakes nothing.

Every input set here but the tags forces a new copy in the provider (name,
source AMI and region, encryption, the resource's region), so a new image
replaces each copy: the new copy is made, and the old one is retained (see
`retain_on_delete`). Removing a region drops its copy from the stack and keeps
the AMI. No copy is ever deleted by this component, like every image of the
immutable flow: a rollback points at an older image, which must still be there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class AwsImageCopiesArgs:
    source_image_id: pulumi.Input[str]
    """The baked AMI (`ami-...`) in ``source_region``."""
    source_region: str
    """Where the bake made the AMI: the baking stack's own region."""
    image_name: str
    """The source AMI's name, given to every copy (the promoting stack looks it up by name)."""
    regions: Sequence[str]
    """The other regions to copy to, each once; not ``source_region``."""
    tags: Mapping[str, str]
    """The stack's tags; each copy also gets a `Name` (the console's column), the image name."""


def copy_tags(tags: Mapping[str, str], image_name: str) -> dict[str, str]:
    """A copy's tags: the stack's, and the image name as `Name`, like the AMI Packer made (CopyImage copies no tags here)."""
    return {**tags, "Name": image_name}


class AwsImageCopies(pulumi.ComponentResource):
    image_ids: pulumi.Output[dict[str, str]]
    """Region -> the copy's AMI id there."""

    def __init__(self, name: str, args: AwsImageCopiesArgs, opts: pulumi.ResourceOptions | None = None):
        if args.source_region in args.regions:
            raise ValueError(f"{name}: {args.source_region!r} is the source AMI's own region; copy only to other regions")
        if len(set(args.regions)) != len(args.regions):
            raise ValueError(f"{name}: a region is listed twice in {list(args.regions)}")
        super().__init__("immutable-web:aws:ImageCopies", name, None, opts)

        copies = {
            region: aws.ec2.AmiCopy(
                f"{name}-{region}",
                region=region,
                source_ami_id=args.source_image_id,
                source_ami_region=args.source_region,
                name=args.image_name,
                # The bake makes an unencrypted AMI (the amazon-ebs sources set no `encrypt_boot`); the
                # launch template encrypts each instance's root volume at launch whatever the snapshot.
                # Encrypting the copy keeps it encrypted at rest too, under the region's default EBS key
                # (no kms_key_id: CopyImage then uses it). An encrypted source can never be copied
                # unencrypted (CopyImage's rule), so `true` is also what an encrypted bake would need.
                encrypted=True,
                tags=copy_tags(args.tags, args.image_name),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # The provider's delete (resourceAMIDelete, shared by aws_ami_copy) deregisters the
                    # AMI and deletes its snapshots. A new image replaces the copy, and a removed region
                    # drops it: without this, the old AMI would be gone while a promoting stack may still
                    # run it, and a rollback to it would find nothing. Retained, it leaves the stack and
                    # stays in the account (deregister it by hand once no stack can need it).
                    retain_on_delete=True,
                    # The provider waits for the copy to be `available`, 40 min by default
                    # (amiRetryTimeout); a cross-region copy moves a whole snapshot. Give it the bake's hour.
                    custom_timeouts=pulumi.CustomTimeouts(create="60m"),
                ),
            )
            for region in args.regions
        }
        self.image_ids = pulumi.Output.all(*(copy.id for copy in copies.values())).apply(lambda ids: dict(zip(copies, ids, strict=True)))
        self.register_outputs({"image_ids": self.image_ids})
