"""PromotedImage built with explicit args: only the provider's not-found answer means "not baked yet"."""

from __future__ import annotations

import pulumi
import pytest

from components.digitalocean.promoted_image import ImageLookupError, ImageNotFoundError, PromotedImage, PromotedImageArgs
from offline.harness import RealisticMocks, run_under_mocks

IMAGE = "hello-1.4.2-24df2df5dce8"
SNAPSHOT_LOOKUP = "digitalocean:index/getDropletSnapshot:getDropletSnapshot"


class FailingLookup(RealisticMocks):
    """The snapshot lookup fails with ``message``, as the provider would report it."""

    def __init__(self, message: str):
        super().__init__("prod")
        self.message = message

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == SNAPSHOT_LOOKUP:
            raise Exception(self.message)  # RecordingMonitor turns it into the engine's gRPC error
        return super().call(args)


def promote(mocks: RealisticMocks) -> None:
    def body():
        image = PromotedImage("app-image", PromotedImageArgs(image_name=IMAGE, region="ams3"))
        pulumi.export("imageId", image.image_id)

    run_under_mocks(body, stack="prod", mocks=mocks)


def test_a_baked_image_is_found_by_name():
    def body():
        image = PromotedImage("app-image", PromotedImageArgs(image_name=IMAGE, region="ams3"))
        pulumi.export("imageId", image.image_id)

    run = run_under_mocks(body, stack="prod", mocks=RealisticMocks("prod", snapshots={IMAGE: "123456789"}))
    assert run.outputs["imageId"] == "123456789"


@pytest.mark.parametrize(
    "provider_message",
    [
        f"No DROPLET snapshot found with name {IMAGE}",  # today's terraform-provider-digitalocean wording
        f"Error: no snapshot found with name {IMAGE}",  # older releases
    ],
)
def test_an_image_that_was_never_baked_is_reported_as_not_baked(provider_message):
    with pytest.raises(ImageNotFoundError) as caught:
        promote(FailingLookup(provider_message))
    message = str(caught.value)
    assert isinstance(caught.value, pulumi.RunError), "the CLI would print a traceback"
    assert f"image {IMAGE!r} was not found in region ams3" in message
    assert "immutable-web:imageSourceHash" in message and "pulumi up --stack staging" in message


@pytest.mark.parametrize(
    "provider_message",
    [
        "Error retrieving Droplet snapshots: GET https://api.digitalocean.com/v2/snapshots: 401 Unable to authenticate you",
        "Error retrieving Droplet snapshots: GET https://api.digitalocean.com/v2/snapshots: 503 Service Unavailable",
        "Error retrieving Droplet snapshots: context deadline exceeded",
    ],
)
def test_a_failed_lookup_is_reported_as_what_it_is_not_as_not_baked(provider_message):
    with pytest.raises(ImageLookupError) as caught:
        promote(FailingLookup(provider_message))
    message = str(caught.value)
    assert not isinstance(caught.value, ImageNotFoundError)
    assert isinstance(caught.value, pulumi.RunError), "the CLI would print a traceback"
    assert f"could not look up image {IMAGE!r} in region ams3" in message
    assert provider_message in message
    assert "has not been baked" not in message


def test_a_name_that_more_than_one_snapshot_carries_is_refused_never_guessed():
    """A re-bake after lost state, or a snapshot named so by hand: the provider's "too many" answer (most_recent off) stops promote."""
    lookup = FailingLookup(f"too many Droplet snapshots found with name {IMAGE} (found 2, expected 1)")
    asked: list[dict] = []
    real_call = lookup.call

    def recording_call(args: pulumi.runtime.MockCallArgs):
        if args.token == SNAPSHOT_LOOKUP:
            asked.append(dict(args.args))
        return real_call(args)

    lookup.call = recording_call  # type: ignore[method-assign]
    with pytest.raises(ImageLookupError) as caught:
        promote(lookup)
    assert not isinstance(caught.value, ImageNotFoundError), "it is there, twice: not 'not baked'"
    assert f"image {IMAGE!r} names more than one snapshot in region ams3" in str(caught.value) and "delete the others" in str(caught.value)
    assert asked and all(call.get("mostRecent") is False for call in asked), asked
