"""The policy pack's rules against the committed stacks (all pass) and against each stack broken one way (the rule names it).

The Pulumi CLI cannot run a Python policy pack on this machine (no Python language host,
docs/engine.md), so these tests drive the pack's own policies (`policy.pack.POLICIES`)
through pulumi_policy's types: each resource the offline harness records (the real
program, the real stack files) becomes a `ResourceValidationArgs` (its inputs, as
`Analyze` gets them) or a `PolicyResource` of a `StackValidationArgs` (its outputs, or a
component's registered outputs, as `AnalyzeStack` gets them), with its options, parent
and dependencies, and the policy's `validate` reports what it finds.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from offline.harness import Resource, run_program
from policy.pack import POLICIES
from policy.subject import UNKNOWN

STACKS = ("staging", "prod", "aws-staging", "aws-prod")


@pytest.fixture(scope="module")
def recorded() -> dict[str, list[Resource]]:
    return {stack: run_program(stack).resources for stack in STACKS}


def options(resource: Resource) -> PolicyResourceOptions:
    opts = resource.options
    return PolicyResourceOptions(
        bool(opts["protect"]), list(opts["ignore_changes"]), opts["delete_before_replace"], [], PolicyCustomTimeouts(0, 0, 0), list(opts["additional_secret_outputs"]), resource.parent
    )


def stack_args(resources: list[Resource]) -> StackValidationArgs:
    """What AnalyzeStack hands a stack policy: outputs (a component's registered outputs), options, parents and dependencies as objects."""
    policy_resources = {r.urn: PolicyResource(r.type, unknown_checking_proxy(dict(r.outputs if r.custom else r.registered_outputs)), r.urn, r.name, options(r), None, None, [], {}) for r in resources}
    for r in resources:
        target = policy_resources[r.urn]
        target.parent = policy_resources.get(r.parent or "")
        target.dependencies = [policy_resources[urn] for urn in r.options["dependencies"] if urn in policy_resources]
        target.property_dependencies = {key: [policy_resources[urn] for urn in urns if urn in policy_resources] for key, urns in r.property_dependencies.items()}
    return StackValidationArgs(list(policy_resources.values()), {})


def violations(policy_name: str, resources: list[Resource]) -> list[str]:
    (policy,) = [policy for policy in POLICIES if policy.name == policy_name]
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    if isinstance(policy, ResourceValidationPolicy):
        for r in resources:
            if r.custom:
                policy.validate(ResourceValidationArgs(r.type, unknown_checking_proxy(dict(r.inputs)), r.urn, r.name, options(r), None, {}, {}), report)
    else:
        policy.validate(stack_args(resources), report)
    return reported


@pytest.mark.parametrize("policy_name", [policy.name for policy in POLICIES])
@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_stacks_pass_every_rule(recorded, stack, policy_name):
    assert violations(policy_name, recorded[stack]) == []


def named(resources: list[Resource], name: str, type_suffix: str = "") -> Resource:
    (match,) = [r for r in resources if r.name == name and r.type.endswith(type_suffix)]
    return match


def both(resource: Resource, key: str, value: object) -> None:
    resource.inputs[key] = value
    resource.outputs[key] = value


def public_image(resources):
    droplet = named(resources, "fleet-0", "Droplet")
    both(droplet, "image", "debian-12-x64")
    droplet.property_dependencies["image"] = []


def public_ami(resources):
    template = named(resources, "fleet-template")
    both(template, "imageId", "ami-0abcdef1234567890")
    template.property_dependencies["imageId"] = []


def misnamed_image(resources):
    named(resources, "app-image").registered_outputs["image_name"] = "my-golden-image"


def ssh_from_anywhere(resources):
    firewall = named(resources, "fleet-firewall")
    firewall.inputs["inboundRules"].append({"protocol": "tcp", "portRange": "22", "sourceAddresses": ["0.0.0.0/0", "::/0"]})


def aws_ssh_from_anywhere(resources):
    rule = named(resources, "network-fleet-in-load-balancer")
    rule.inputs.update(fromPort=22, toPort=22, cidrIpv6="::/0")


def database_open_to_an_address(resources):
    both(named(resources, "database-firewall"), "rules", [{"type": "tag", "value": "fleet:hello:staging"}, {"type": "ip_addr", "value": "203.0.113.7"}])


def rds_open_to_the_internet(resources):
    rule = named(resources, "network-database-in-fleet")
    both(rule, "cidrIpv4", "0.0.0.0/0")
    rule.property_dependencies["referencedSecurityGroupId"] = []


def prod_cluster_unprotected(resources):
    named(resources, "database-cluster").options["protect"] = False


def prod_rds_unprotected(resources):
    instance = named(resources, "database-postgres")
    instance.options["protect"] = False
    both(instance, "deletionProtection", False)


def balancer_checks_health(resources):
    balancer = named(resources, "load-balancer-lb")
    balancer.inputs["healthcheck"] = {**balancer.inputs["healthcheck"], "path": "/healthz"}


def target_group_checks_root(resources):
    group = named(resources, "load-balancer-targets")
    group.inputs["healthCheck"] = {**group.inputs["healthCheck"], "path": "/"}


def no_redirect(resources):
    both(named(resources, "load-balancer-lb"), "redirectHttpToHttps", False)


def alb_http_forwards(resources):
    both(named(resources, "load-balancer-http"), "defaultActions", [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:target"}])


def user_data_in_plain_state(resources):
    named(resources, "fleet-1", "Droplet").options["additional_secret_outputs"] = []


def password_in_launch_template(resources):
    template = named(resources, "fleet-template")
    text = base64.b64decode(template.inputs["userData"]).decode() + "\nDATABASE_PASSWORD=hunter2\n"
    template.inputs["userData"] = base64.b64encode(text.encode()).decode()


def droplets_without_a_gate(resources):
    resources.remove(named(resources, "fleet-gate-0-wait"))


def canary_not_waited_for(resources):
    group = named(resources, "fleet-1", "Group")
    group.options["dependencies"] = [urn for urn in group.options["dependencies"] if "fleet-gate-0-wait" not in urn]


BREAKAGES: list[tuple[str, str, Callable[[list[Resource]], None], str]] = [
    ("servers-run-baked-images", "staging", public_image, "fleet-0"),
    ("servers-run-baked-images", "aws-prod", public_ami, "fleet-template"),
    ("servers-run-baked-images", "prod", misnamed_image, "my-golden-image"),
    ("ssh-closed", "staging", ssh_from_anywhere, "fleet-firewall"),
    ("ssh-closed", "aws-staging", aws_ssh_from_anywhere, "network-fleet-in-load-balancer"),
    ("database-only-from-fleet", "staging", database_open_to_an_address, "database-firewall"),
    ("database-only-from-fleet", "aws-staging", rds_open_to_the_internet, "network-database-in-fleet"),
    ("prod-database-protected", "prod", prod_cluster_unprotected, "database-cluster"),
    ("prod-database-protected", "aws-prod", prod_rds_unprotected, "database-postgres"),
    ("load-balancer-checks-readiness", "staging", balancer_checks_health, "load-balancer-lb"),
    ("load-balancer-checks-readiness", "aws-staging", target_group_checks_root, "load-balancer-targets"),
    ("load-balancer-redirects-to-https", "prod", no_redirect, "load-balancer-lb"),
    ("load-balancer-redirects-to-https", "aws-prod", alb_http_forwards, "load-balancer-http"),
    ("user-data-secret", "staging", user_data_in_plain_state, "fleet-1"),
    ("user-data-secret", "aws-staging", password_in_launch_template, "DATABASE_PASSWORD"),
    ("gate-before-next-wave", "staging", droplets_without_a_gate, "fleet-0"),
    ("gate-before-next-wave", "aws-prod", canary_not_waited_for, "fleet-gate-0-wait"),
]


@pytest.mark.parametrize("policy_name, stack, breakage, named_in_message", BREAKAGES, ids=[breakage.__name__ for _, _, breakage, _ in BREAKAGES])
def test_a_stack_broken_one_way_violates_the_rule_that_names_it(recorded, policy_name, stack, breakage, named_in_message):
    resources = copy.deepcopy(recorded[stack])
    breakage(resources)
    found = violations(policy_name, resources)
    assert found, f"{policy_name} found nothing in {stack} after {breakage.__name__}"
    assert any(named_in_message in message for message in found), found


def test_every_rule_has_a_breakage_and_a_level_and_a_reason():
    assert {name for name, *_ in BREAKAGES} == {policy.name for policy in POLICIES}
    for policy in POLICIES:
        assert policy.enforcement_level is not None and ":" in policy.description, policy.name


def test_a_preview_of_a_bake_passes_by_where_the_image_comes_from(recorded):
    """In a real preview the baked image's id is unknown; the droplets' `image` still comes from the app image's Packer command."""
    resources = copy.deepcopy(recorded["staging"])
    for resource in resources:
        if resource.type.endswith("Droplet"):
            both(resource, "image", UNKNOWN)
    named(resources, "app-image").registered_outputs["image_id"] = UNKNOWN
    assert violations("servers-run-baked-images", resources) == []
    public_image(resources)
    assert any("fleet-0" in message for message in violations("servers-run-baked-images", resources))


def test_ssh_from_an_allow_listed_range_passes():
    """SSH opened by the stack's own allow-list (sshAllowCidrs, with a key to log in with) is not the whole internet."""
    resources = run_program("staging", config_overrides={"sshAllowCidrs": ["203.0.113.0/24"], "sshKeys": ["12345"]}).resources
    (firewall,) = [r for r in resources if r.name == "fleet-firewall"]
    assert any(rule.get("portRange") == "22" for rule in firewall.inputs["inboundRules"]), "the allow-list opened SSH"
    assert violations("ssh-closed", resources) == []
