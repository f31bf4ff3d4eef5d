"""The pack's policies: each rule of `policy.rules`, with its enforcement level and why, wired to pulumi_policy's arguments.

A resource policy gets `ResourceValidationArgs` (one resource's inputs and options); a
stack policy gets `StackValidationArgs` (every resource's outputs, options, parent and
dependencies). Both are turned into `policy.rules.Subject`s, so the rules stay pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import rules

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


def raw(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The properties without pulumi_policy's proxy, which raises on an unknown value: the rules treat unknowns themselves."""
    try:
        return props["__target"]  # the proxy's own way to its target (pulumi_policy/proxy.py)
    except KeyError:
        return props


def _subject(resource_type: str, urn: str, props: Mapping[str, Any], opts: PolicyResourceOptions, **graph: Any) -> rules.Subject:
    return rules.Subject(
        type=resource_type,
        urn=urn,
        props=raw(props),
        protect=bool(opts.protect),
        delete_before_replace=opts.delete_before_replace,
        additional_secret_outputs=list(opts.additional_secret_outputs),
        **{"parent": opts.parent, **graph},
    )


def resource_subject(args: ResourceValidationArgs) -> rules.Subject:
    """A resource policy's view: inputs and options (no dependencies: `Analyze` is given none)."""
    return _subject(args.resource_type, args.urn, args.props, args.opts)


def stack_subject(resource: PolicyResource) -> rules.Subject:
    """A stack policy's view: outputs, options, parent and (property) dependencies."""
    return _subject(
        resource.resource_type,
        resource.urn,
        resource.props,
        resource.opts,
        parent=resource.parent.urn if resource.parent is not None else resource.opts.parent,
        dependencies=[dependency.urn for dependency in resource.dependencies],
        property_dependencies={key: [dependency.urn for dependency in value] for key, value in resource.property_dependencies.items()},
    )


def resource_policy(name: str, level: EnforcementLevel, description: str, rule: Callable[[rules.Subject], list[str]]) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule(resource_subject(args)):
            report_violation(message, None)

    return ResourceValidationPolicy(name=name, description=description, enforcement_level=level, validate=validate)


def stack_policy(name: str, level: EnforcementLevel, description: str, rule: Callable[[Sequence[rules.Subject]], list[str]]) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule([stack_subject(resource) for resource in args.resources]):
            report_violation(message, None)

    return StackValidationPolicy(name=name, description=description, enforcement_level=level, validate=validate)


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    stack_policy(
        "servers-run-baked-images",
        MANDATORY,
        "Servers only from images this project baked, named <app>-<stack>-<version>-<hash>: a promoting stack runs exactly what staging proved.",
        rules.servers_run_baked_images,
    ),
    resource_policy(
        "ssh-closed",
        MANDATORY,
        "SSH only from allow-listed addresses, never 0.0.0.0/0 or ::/0: an immutable server is never logged into to be changed.",
        rules.ssh_violations,
    ),
    stack_policy(
        "database-only-from-fleet",
        MANDATORY,
        "The database admits the fleet only (DigitalOcean: the fleet tag; AWS: the fleet's security group): it holds all the state.",
        rules.database_violations,
    ),
    resource_policy(
        "prod-database-protected",
        MANDATORY,
        "A prod stack's database carries protect (and RDS deletion protection): its data is the one thing a replacement cannot rebuild.",
        rules.protection_violations,
    ),
    resource_policy(
        "load-balancer-checks-readiness",
        MANDATORY,
        "The balancer checks /readyz: a deep check empties the pool on a database blip, a shallow one routes to servers not yet migrated.",
        rules.readiness_violations,
    ),
    stack_policy(
        "load-balancer-redirects-to-https",
        ADVISORY,
        "With TLS on, plain HTTP redirects to HTTPS; advisory: a missed redirect exposes no secret the app sends (HSTS only over HTTPS).",
        rules.https_redirect_violations,
    ),
    resource_policy(
        "user-data-secret",
        MANDATORY,
        "Droplet user-data (database password) is a secret output; AWS user-data holds no secret value: state and DescribeLaunchTemplateVersions are readable.",
        rules.user_data_violations,
    ),
    stack_policy(
        "gate-before-next-wave",
        MANDATORY,
        "Every wave of servers has a health gate, and the next wave waits for it: a bad image stops at its first wave, the old fleet serving.",
        rules.gate_violations,
    ),
]
