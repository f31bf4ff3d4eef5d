"""What a change does to an AWS stack, read from the offline plan diff: the fleet's generation is replaced whole, nothing else moves."""

from __future__ import annotations

from functools import cache
from typing import Any

from offline.harness import run_program
from offline.plan import build_plan, diff_plans, render_diff

TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"

FLEET_GENERATION = {"fleet-template": "replace", "fleet-0": "replace", "fleet-gate-0-wait": "replace"}


@cache
def _plan(stack: str, overrides: tuple[tuple[str, Any], ...] = ()) -> dict[str, Any]:
    return build_plan(stack, {key: list(value) if isinstance(value, tuple) else value for key, value in overrides})


def plan(stack: str, **overrides: Any) -> dict[str, Any]:
    return _plan(stack, tuple(sorted((key, tuple(value) if isinstance(value, list) else value) for key, value in overrides.items())))


def actions(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    return {change.name: change.action for change in diff_plans(old, new)}


def new_generation(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """The instances of ``new`` report another generation: the gate can never count an old instance."""
    return old["outputs"]["fleetGeneration"] != new["outputs"]["fleetGeneration"]


def test_version_bump_bakes_one_ami_and_replaces_the_template_the_group_and_reruns_the_gate():
    before, bumped = plan("aws-staging"), plan("aws-staging", appVersion="1.5.0")
    assert actions(before, bumped) == {"app-image-packer": "replace", **FLEET_GENERATION}
    assert new_generation(before, bumped)
    text = render_diff(before, bumped)
    assert "create new, then delete old" in text and "base-image-packer" not in text


def test_promoting_another_ami_in_prod_replaces_both_waves_and_their_gates():
    before, promoted = plan("aws-prod"), plan("aws-prod", appVersion="1.5.0", imageSourceHash="aaaaaaaaaaaa")
    assert actions(before, promoted) == {"fleet-template": "replace", "fleet-0": "replace", "fleet-1": "replace", "fleet-gate-0-wait": "replace", "fleet-gate-1-wait": "replace"}
    assert new_generation(before, promoted)


def test_env_change_replaces_the_generation_and_bakes_nothing():
    before, changed = plan("aws-staging"), plan("aws-staging", env=["LOG_LEVEL=info", "FEATURE_NEW_CHECKOUT=true"])
    assert actions(before, changed) == FLEET_GENERATION
    assert new_generation(before, changed)


def test_instance_type_change_replaces_the_generation_only():
    before, changed = plan("aws-staging"), plan("aws-staging", instanceType="m7i.large")
    assert actions(before, changed) == FLEET_GENERATION
    assert new_generation(before, changed)


def test_a_new_secret_version_is_a_new_generation_though_user_data_never_holds_the_secret():
    """A changed password or app secret updates its SSM parameter, whose version goes up: the fleet is replaced."""
    before = run_program("aws-staging")
    rotated = run_program("aws-staging", mock_outputs={"aws:ssm/parameter:Parameter": {"version": 2}})
    assert rotated.outputs["fleetGeneration"] != before.outputs["fleetGeneration"]
    (old_template,), (new_template,) = before.of_type(TEMPLATE), rotated.of_type(TEMPLATE)
    assert old_template.inputs["userData"] != new_template.inputs["userData"]
    assert old_template.id != new_template.id, "the launch template is replaced"


def test_dns_only_change_touches_only_the_alias():
    with_domain = {"domain": "example.com", "dnsRecord": "www"}
    before, changed = plan("aws-staging", **with_domain), plan("aws-staging", domain="example.com", dnsRecord="app")
    assert actions(before, changed) == {"dns-alias": "replace"}
    assert not new_generation(before, changed)


def test_removing_database_protection_is_flagged():
    before, changed = plan("aws-prod"), plan("aws-prod", dbProtect=False)
    text = render_diff(before, changed)
    assert "database-postgres" in text and "protect" in text


COPY_REGION = {"imageCopyRegions": ["us-west-2"]}


def test_adding_a_copy_region_to_a_baked_image_copies_it_and_bakes_nothing():
    """The bug this guards: Packer's `ami_regions` copied only during a bake, so a region added later got nothing."""
    before, copying = plan("aws-staging"), plan("aws-staging", **COPY_REGION)
    assert actions(before, copying) == {"app-image-copies-us-west-2": "create"}
    assert not new_generation(before, copying)


def test_a_version_bump_replaces_the_copy_and_keeps_the_old_one_in_the_cloud():
    before, bumped = plan("aws-staging", **COPY_REGION), plan("aws-staging", appVersion="1.5.0", **COPY_REGION)
    assert actions(before, bumped) == {"app-image-packer": "replace", "app-image-copies-us-west-2": "replace", **FLEET_GENERATION}
    (copy,) = [change for change in diff_plans(before, bumped) if change.name == "app-image-copies-us-west-2"]
    assert "provider replaces on: name, sourceAmiId" in copy.reason
    assert "retain-on-delete: the old one is left in the cloud" in copy.reason


def test_dropping_a_copy_region_removes_the_copy_from_the_stack_only():
    before, dropped = plan("aws-staging", **COPY_REGION), plan("aws-staging")
    (change,) = diff_plans(before, dropped)
    assert (change.name, change.action) == ("app-image-copies-us-west-2", "delete")
    assert "retain-on-delete: left in the cloud" in change.reason
