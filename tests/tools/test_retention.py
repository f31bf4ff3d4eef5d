"""The retention rule, pure: names read back against the naming scheme, what is kept, what it costs."""

from __future__ import annotations

import pytest

from components.common.naming import app_image_name, base_image_name
from tools.images import main
from tools.retention import DIGITALOCEAN_SNAPSHOT_PRICE, Image, ImageName, References, monthly_cost, parse_image_name, pinned_image, plan_prune, references_in_deployment


def test_names_the_program_makes_parse_back_to_their_layer_version_and_hash():
    assert parse_image_name(app_image_name("hello", "staging", "1.5.0-rc.1", "3f5ca7d2224a"), "hello", "staging") == ImageName("app", "3f5ca7d2224a", "1.5.0-rc.1")
    assert parse_image_name(base_image_name("hello", "aws-staging", "20261207T000000Z", "98304bb2a806"), "hello", "aws-staging") == ImageName("base", "98304bb2a806")


@pytest.mark.parametrize(
    "name",
    [
        "hello-aws-staging-1.4.2-98304bb2a806",  # stack aws-staging's, not aws's
        "hello-staging-notes",
        "hello-staging-1.4.2-3F5CA7D2224A",
        "hello-staging-1.4.2-3f5ca7d2",
        "other-staging-1.4.2-3f5ca7d2224a",
    ],
)
def test_other_names_are_not_the_stacks(name):
    assert parse_image_name(name, "hello", "aws" if name.startswith("hello-aws") else "staging") is None


def image(number: int, name: str) -> Image:
    return Image(id=str(number), name=name, created_at=f"2026-01-{number:02d}T00:00:00Z", size_gb=2.0)


def test_the_newest_of_each_layer_and_every_referenced_image_are_kept():
    images = [
        image(1, "hello-staging-1.0.0-aaaaaaaaaaaa"),
        image(2, "hello-staging-base-bbbbbbbbbbbb"),
        image(3, "hello-staging-1.1.0-cccccccccccc"),
        image(4, "hello-staging-1.2.0-dddddddddddd"),
        image(5, "someone-else"),
    ]
    references = References()
    references.add("1", "stack prod")
    decisions = plan_prune(images, app_name="hello", stack="staging", keep=1, references=references)
    assert [(d.image.name, d.keep) for d in decisions] == [
        ("hello-staging-1.2.0-dddddddddddd", True),
        ("hello-staging-1.1.0-cccccccccccc", False),
        ("hello-staging-base-bbbbbbbbbbbb", True),
        ("hello-staging-1.0.0-aaaaaaaaaaaa", True),
    ]
    assert decisions[-1].reasons == ("used by stack prod",)


def test_references_are_read_from_any_resource_of_an_export_and_a_promotions_pins():
    export = {"deployment": {"resources": [{"outputs": {"imageName": "a"}}, {"inputs": {"launchTemplate": {"imageId": "ami-1"}}, "outputs": {"image": "150"}}, {"outputs": {"url": "x"}}]}}
    references = References()
    references_in_deployment(export, "prod", references)
    assert set(references.users) == {"a", "ami-1", "150"}
    pins = {"immutable-web:imageMode": "promote", "immutable-web:imageStack": "staging", "immutable-web:appVersion": "1.4.2", "immutable-web:imageSourceHash": "3f5ca7d2224a"}
    assert pinned_image(pins, "hello") == "hello-staging-1.4.2-3f5ca7d2224a"
    assert pinned_image({"immutable-web:appVersion": "1.4.2"}, "hello") is None


def test_cost_is_the_published_price_per_gb_month():
    assert monthly_cost(2.36, DIGITALOCEAN_SNAPSHOT_PRICE) == 0.14


@pytest.mark.parametrize(("argv", "named"), [(["prune", "--stack", "staging", "--keep", "0"], "--keep"), (["prune", "--stack", "staging", "--keep", "two"], "--keep"), (["prune"], "--stack")])
def test_bad_arguments_are_one_message_naming_the_argument(argv, named, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert named in capsys.readouterr().err


def test_an_unknown_stack_is_refused_naming_the_argument(capsys):
    assert main(["prune", "--stack", "nope"]) == 2
    assert "argument --stack: no stack file Pulumi.nope.yaml" in capsys.readouterr().err


def test_a_base_of_before_patch_levels_is_still_the_stacks_and_a_malformed_level_is_not():
    assert parse_image_name("hello-staging-base-bbbbbbbbbbbb", "hello", "staging") == ImageName("base", "bbbbbbbbbbbb")
    assert parse_image_name("hello-staging-base-2026-12-07-bbbbbbbbbbbb", "hello", "staging") is None
