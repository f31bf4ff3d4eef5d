"""PromotedImage: use the image a baking stack proved, never bake again.

A promoting stack (prod) runs no Packer. It looks up, by its deterministic
name, the snapshot the baking stack (staging) made from the same sources and
version: one immutable unit, promoted from environment to environment. A new
staging bake therefore never rolls prod: prod moves only when its stack file
names another version and source hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean

# The provider's answer when no snapshot has the name in the region
# ("No DROPLET snapshot found with name ..."; older releases: "no snapshot found ...").
# Every other failure (a bad token, an API error, a timeout) is not "not baked".
NOT_FOUND_PATTERN = re.compile(r"no (droplet )?snapshot found with name", re.IGNORECASE)
# Its answer when more than one has the name and `most_recent` is off
# ("too many Droplet snapshots found with name ... (found 2, expected 1)").
AMBIGUOUS_PATTERN = re.compile(r"too many (droplet )?snapshots found with name", re.IGNORECASE)


class ImageLookupError(pulumi.RunError):
    """The lookup itself failed. A ``pulumi.RunError``: the CLI prints the message, no traceback."""


class ImageNotFoundError(ImageLookupError):
    """The pinned image does not exist (yet) in the region."""


@dataclass(frozen=True, kw_only=True)
class PromotedImageArgs:
    image_name: str
    """Exact snapshot name the baking stack printed as `imageName`."""
    region: str
    """The snapshot must be available here (the baking stack copies it via imageCopyRegions)."""


def lookup_snapshot_id(image_name: str, region: str, parent: pulumi.Resource | None = None) -> str:
    """The snapshot id, or a clear error: "not baked yet" only when the provider says not found."""
    try:
        result = digitalocean.get_droplet_snapshot(
            name=image_name,
            region=region,
            # Never the newest of several: a re-bake after lost state (or any snapshot someone named so) would
            # silently change what prod runs. Several snapshots of one name are refused below.
            most_recent=False,
            opts=pulumi.InvokeOptions(parent=parent),
        )
    except Exception as error:  # the SDK raises every invoke failure as a plain Exception carrying the provider's message
        if NOT_FOUND_PATTERN.search(str(error)):
            raise ImageNotFoundError(
                f"image {image_name!r} was not found in region {region}: the promoting stack pins "
                f"immutable-web:appVersion and immutable-web:imageSourceHash to an image that has not been baked "
                f"(or not copied to {region}). Deploy the baking stack first (pulumi up --stack staging, with "
                f"{region} in its imageCopyRegions) and copy its `imageSourceHash` output. ({error})"
            ) from error
        if AMBIGUOUS_PATTERN.search(str(error)):
            raise ImageLookupError(
                f"image {image_name!r} names more than one snapshot in region {region}, so which one prod would run is ambiguous: "
                f"keep the one the baking stack's imageId output names and delete the others (doctl compute snapshot list | grep {image_name}). ({error})"
            ) from error
        raise ImageLookupError(
            f"could not look up image {image_name!r} in region {region}: {error}. This is not a missing image: check DIGITALOCEAN_TOKEN and DigitalOcean's status, then run again."
        ) from error
    return result.id


class PromotedImage(pulumi.ComponentResource):
    image_id: pulumi.Output[str]
    image_name: pulumi.Output[str]

    def __init__(self, name: str, args: PromotedImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:image:PromotedImage", name, None, opts)
        self.image_id = pulumi.Output.from_input(lookup_snapshot_id(args.image_name, args.region, parent=self))
        self.image_name = pulumi.Output.from_input(args.image_name)
        self.register_outputs({"image_id": self.image_id, "image_name": self.image_name})
