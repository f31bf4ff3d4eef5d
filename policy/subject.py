"""What the policy API shows of one resource (`Subject`), the type tokens the rules look at, and small helpers: pure.

What the API shows of a resource (pulumi_policy 1.21): its properties (a resource
policy sees the inputs; a stack policy the outputs, which in a preview are the inputs
with the computed ones unknown), `protect`, `ignore_changes`, `delete_before_replace`,
`aliases`, `custom_timeouts`, `additional_secret_outputs`, its parent, and (stack
policies only) its dependencies and property dependencies. Not shown: whether a value
is secret (validation gets every secret unwrapped), `replace_on_changes`,
`retain_on_delete`, the stack's config, invokes (a promoting stack's image lookup).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import rpc

# What a value computed on `up` is during a preview (the engine's unknown sentinel, as pulumi_policy deserializes it).
UNKNOWN = rpc.UNKNOWN

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
DATABASE_CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
DATABASE_DB = "digitalocean:index/databaseDb:DatabaseDb"
DATABASE_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
FLEET_TAG = "digitalocean:index/tag:Tag"
DO_LOAD_BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
RDS_INSTANCE = "aws:rds/instance:Instance"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
COMMAND = "command:local:Command"
HEALTH_GATE = "immutable-web:gate:HealthGate"
# The components that hand a fleet its image: a bake, or a promotion's lookup by name.
IMAGE_COMPONENTS = frozenset({"immutable-web:image:ImageBuild", "immutable-web:image:PromotedImage", "immutable-web:aws:PromotedImage"})
# Where each kind of server names its image.
SERVER_IMAGE_PROPERTY = {DROPLET: "image", LAUNCH_TEMPLATE: "imageId"}
# A server of a rollout wave: a droplet, or an auto-scaling group (which starts the instances itself).
WAVE_SERVERS = frozenset({DROPLET, AUTOSCALING_GROUP})

SSH_PORT = 22
POSTGRES_PORT = 5432
WHOLE_INTERNET = frozenset({"0.0.0.0/0", "::/0"})
# An app image's name (components/common/naming.py: app_image_name): <app>-<stack>-<version>-<12 hex digits>.
APP_IMAGE_NAME = re.compile(r"(?P<scope>[a-z0-9]+(-[a-z0-9]+)+)-(?P<version>[0-9][^-]*(-[0-9a-z.]+)?)-(?P<hash>[0-9a-f]{12})")
# The env keys that hold a secret's value (components/common/cloud_init.py); on AWS user-data names parameters instead.
SECRET_ENV_KEYS = ("APP_SECRET", "APP_SECRET_PREVIOUS", "DATABASE_PASSWORD", "DATABASE_MIGRATION_PASSWORD")


@dataclass(frozen=True)
class Subject:
    """One resource as the policy API shows it."""

    type: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    delete_before_replace: bool | None = None
    additional_secret_outputs: Sequence[str] = ()
    parent: str | None = None
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.urn.split("::")[-1]

    @property
    def stack(self) -> str:
        """The stack, from the URN (urn:pulumi:<stack>::<project>::...): the API hands a policy no stack name."""
        return self.urn.split("::")[0].removeprefix("urn:pulumi:")

    @property
    def type_chain(self) -> list[str]:
        """The types of its parents and its own, from the URN."""
        return self.urn.split("::")[2].split("$")


def known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def is_prod(stack: str) -> bool:
    """A production stack: `prod`, or `prod` as a word of its name (aws-prod, prod-eu)."""
    return "prod" in stack.split("-")


def of_type(subjects: Iterable[Subject], *types: str) -> list[Subject]:
    return [subject for subject in subjects if subject.type in types]


def covers_port(port_range: Any, port: int) -> bool:
    text = str(port_range or "").strip().lower()
    if text in ("", "all", "0"):
        return True  # DigitalOcean: no range (or "all") is every port
    low, _, high = text.partition("-")
    try:
        # float first: the engine hands numbers over as protobuf doubles (443.0).
        return float(low) <= port <= float(high or low)
    except ValueError:
        return True  # a range we cannot read counts as open


def is_whole_internet(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return cidr in WHOLE_INTERNET
