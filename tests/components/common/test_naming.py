"""Names the program derives: the fleet tag, which the load balancer and both firewalls trust, is one (app, stack) pair's alone."""

from __future__ import annotations

import itertools

from components.common.naming import app_image_name, base_image_name, fleet_tag_name
from config.rules import APP_NAME_PATTERN, STACK_NAME_PATTERN


def test_fleet_tags_of_different_app_and_stack_pairs_never_collide():
    # The pair the old `<app>-<stack>-fleet` made one tag: hello-prod in eu, hello in prod-eu.
    assert fleet_tag_name("hello-prod", "eu") != fleet_tag_name("hello", "prod-eu")
    words = ["ab", "ab-cd", "cd", "cd-ef", "ef", "hello", "hello-prod", "prod", "prod-eu", "eu"]
    pairs = [(app, stack) for app, stack in itertools.product(words, repeat=2) if APP_NAME_PATTERN.fullmatch(app) and STACK_NAME_PATTERN.fullmatch(stack)]
    assert len(pairs) == len(words) ** 2
    tags = [fleet_tag_name(app, stack) for app, stack in pairs]
    assert len(set(tags)) == len(pairs), "two (app, stack) pairs share a fleet tag"


def test_neither_name_can_hold_the_separator():
    assert not APP_NAME_PATTERN.fullmatch("hello:x") and not STACK_NAME_PATTERN.fullmatch("prod:eu")


def test_image_names_are_scoped_to_the_app_and_the_baking_stack():
    """Two baking stacks (or two apps) never make images of one name: promote could not tell them apart, AWS refuses the second."""
    names = {app_image_name(app, stack, "1.4.2", "0123456789ab") for app in ("hello", "shop") for stack in ("staging", "staging-2")}
    assert len(names) == 4
    bases = {base_image_name(app, stack, "20261207T000000Z", "0123456789ab") for app in ("hello", "shop") for stack in ("staging", "aws-staging")}
    assert len(bases) == 4 and not bases & names


def test_the_base_name_carries_its_patch_level():
    """Two levels, two names, whatever the hash; one level and one hash, one name."""
    first, again = (base_image_name("hello", "staging", "20261207T000000Z", "0123456789ab") for _ in range(2))
    later = base_image_name("hello", "staging", "20261214T000000Z", "0123456789ab")
    assert first == again == "hello-staging-base-20261207T000000Z-0123456789ab"
    assert later != first and "20261214T000000Z" in later
