"""What an AWS stack alone sets: its region (the provider's `aws:region`), instance and database classes, the VPC, the hosted zone, the database password.

Checked offline against formats and AWS's published lists (never by calling
the API), together with the rules that involve the shared settings: no SSH on
AWS (the fleet has no SSH port and no key), a hosted zone for a domain, tags as
key:value pairs (a map on AWS).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.common.log_shipping import LogDestination
from config.rules import stack_name_problem
from config.shared import AppSettings, DnsSettings, FleetSettings, ImageMode, ImageSettings
from config.values import PROJECT, Values

# Commercial AWS regions with EC2, ALB, RDS PostgreSQL, SSM and Route53 alias support (https://docs.aws.amazon.com/general/latest/gr/rande.html).
AWS_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-east-1",
    "me-south-1", "me-central-1", "il-central-1", "af-south-1",
)  # fmt: skip
# EC2 instance types: family (generation, attributes) . size, e.g. t3.micro, m7g.large, c6in.2xlarge. x86_64 only: the image is amd64.
INSTANCE_TYPE_PATTERN = re.compile(r"^(t3|t3a|m5|m5a|m6i|m6a|m7i|m7a|c5|c5a|c6i|c6a|c7i|c7a|r5|r6i|r7i)(n|d|dn)?\.(nano|micro|small|medium|large|[0-9]*xlarge)$")
# RDS classes for PostgreSQL: db.t4g.micro, db.m7g.large, db.r6i.2xlarge ...
DATABASE_CLASS_PATTERN = re.compile(r"^db\.(t3|t4g|m5|m6g|m6i|m7g|r5|r6g|r6i|r7g)\.(micro|small|medium|large|[0-9]*xlarge)$")
HOSTED_ZONE_PATTERN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# AWS tag keys and values: letters, digits, spaces and + - = . _ : / @ (keys up to 128, values up to 256); not the reserved aws: prefix.
TAG_KEY_PATTERN = re.compile(r"^(?!aws:)[\w .:/=+\-@]{1,128}$")
TAG_VALUE_PATTERN = re.compile(r"^[\w .:/=+\-@]{0,256}$")
# Keys only a DigitalOcean stack reads, and what to use on AWS instead.
DIGITALOCEAN_ONLY_KEYS: Mapping[str, str] = {
    "region": "set the provider's aws:region instead",
    "baseImage": "the AWS base image is Debian's official AMI (images/base)",
    "dropletSize": "use instanceType",
    "sshKeys": "the AWS fleet has no SSH (use instance replacement, not login)",
    "dbSize": "use dbInstanceClass",
    "dbNodeCount": "use dbMultiAz",
    "manageDomain": "the Route53 hosted zone must exist (hostedZone)",
    "dnsTtl": "an alias record to the load balancer has no TTL of its own",
}


@dataclass(frozen=True, kw_only=True)
class AwsSettings:
    region: str
    image_copy_regions: tuple[str, ...]
    instance_type: str
    availability_zone_count: int
    vpc_cidr: str
    database_class: str
    database_storage_gb: int
    database_multi_az: bool
    database_backup_days: int
    hosted_zone: str | None
    """The Route53 public hosted zone the app's record goes in (with `domain`)."""
    tags: dict[str, str]
    database_password: pulumi.Output[str]


# RDS's master user and database name (CreateDBInstance, MasterUsername: 1-16 letters, digits or _, a letter
# first; DBName: letters, digits, _): both are the app's name on AWS.
RDS_USER_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,15}")


def _check_aws_names(values: Values, *, stack: str, app: AppSettings, logs: LogDestination | None) -> None:
    """What AWS would refuse at `pulumi up`, or accept without it working: refused here, with the reason."""
    if (problem := stack_name_problem(stack)) is not None:
        values.problems.append(problem)
    if app.name and not RDS_USER_PATTERN.fullmatch(app.name):
        values.problem("appName", f"{app.name!r} is also RDS's master user and database name on AWS, which allow 1-16 lower-case letters, digits or _ (no -); e.g. {app.name.replace('-', '')[:16]!r}")
    if logs is not None:
        values.problem(
            "logDestination",
            "is not supported on AWS yet: the fleet's private subnets have no route out (no NAT gateway, only an SSM endpoint), "
            "so no log line could reach it; remove it (logs stay in each instance's journal)",
        )


def read_aws(
    values: Values, *, stack: str, app: AppSettings, logs: LogDestination | None, full: Mapping[str, str], secret: set[str], image: ImageSettings, fleet: FleetSettings, dns: DnsSettings
) -> AwsSettings:
    """The AWS part; ``full`` holds every fully-qualified key (aws:region is the provider's)."""
    _check_aws_names(values, stack=stack, app=app, logs=logs)
    for key, instead in DIGITALOCEAN_ONLY_KEYS.items():
        if values.is_set(key):
            values.problem(key, f"is a DigitalOcean setting and this stack's cloud is aws; {instead}")
    region = full.get("aws:region", "")
    if not region:
        values.problems.append("aws:region: is required on AWS; set it with `pulumi config set aws:region us-east-1`")
    elif region not in AWS_REGIONS:
        values.problems.append(f"aws:region: {region!r} is not a region this program supports; allowed: {', '.join(AWS_REGIONS)}")
    if fleet.ssh_allow_cidrs:
        values.problem("sshAllowCidrs", "must be empty on AWS: the fleet has no SSH port, no key and no public address (replace instances, never log in)")

    copy_regions = values.array("imageCopyRegions")
    for index, extra in enumerate(copy_regions):
        if extra not in AWS_REGIONS:
            values.problem("imageCopyRegions", f"{extra!r} is not an AWS region; allowed: {', '.join(AWS_REGIONS)}")
        elif extra == region:
            values.problem("imageCopyRegions", f"{extra!r} is this stack's own region, where Packer always makes the AMI; list only other regions")
        elif extra in copy_regions[:index]:
            values.problem("imageCopyRegions", f"{extra!r} is listed twice")
    if image.mode == ImageMode.PROMOTE and copy_regions:
        values.problem("imageCopyRegions", "only a baking stack copies images; a promoting stack uses the copy the baking stack made")

    vpc_cidr = values.text("vpcCidr")
    try:
        network = ipaddress.ip_network(vpc_cidr, strict=True)
    except ValueError:
        values.problem("vpcCidr", f"must be an IPv4 CIDR block without host bits, /16 or /17, in a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); got {vpc_cidr!r}")
    else:
        if network.version != 4 or not 16 <= network.prefixlen <= 17 or not network.is_private:
            values.problem("vpcCidr", f"must be a private IPv4 /16 or /17 (each zone takes two /20 subnets); got {vpc_cidr}")

    hosted_zone = values.optional("hostedZone", HOSTED_ZONE_PATTERN, "a Route53 public hosted zone name like example.com")
    if dns.domain is not None:
        hosted_zone = hosted_zone or dns.domain
        if dns.fqdn is not None and not (dns.fqdn == hosted_zone or dns.fqdn.endswith("." + hosted_zone)):
            values.problem("hostedZone", f"{hosted_zone!r} does not contain the app's name {dns.fqdn}; use the zone the name belongs to")
    elif hosted_zone is not None:
        values.problem("hostedZone", "is set but domain is empty, so no record would be made; set domain too, or remove hostedZone")

    tags: dict[str, str] = {}
    for entry in values.array("tags"):
        key, sep, value = entry.partition(":")
        if not sep or not TAG_KEY_PATTERN.fullmatch(key) or not TAG_VALUE_PATTERN.fullmatch(value):
            values.problem("tags", f"{entry!r} is not an AWS tag as key:value (letters, digits, spaces and + - = . _ : / @; the aws: prefix is reserved)")
        elif key in tags:
            values.problem("tags", f"{key!r} is tagged twice")
        else:
            tags[key] = value

    password = values.raw("dbPassword")
    if password is None:
        values.problem("dbPassword", 'is required on AWS and must be a secret: pulumi config set --secret dbPassword "$(openssl rand -hex 24)"')
    elif f"{PROJECT}:dbPassword" not in secret:
        values.problem("dbPassword", 'is in plain text in the stack file; remove it and set it encrypted: pulumi config set --secret dbPassword "$(openssl rand -hex 24)"')
    elif not re.fullmatch(r"[\x21-\x7e]{8,128}", password) or any(character in password for character in '/@" '):
        # RDS: 8-128 printable ASCII, not / @ " or space (the value is never echoed).
        values.problem("dbPassword", 'must be 8-128 printable ASCII characters without / @ " or spaces (RDS refuses them)')

    return AwsSettings(
        region=region,
        image_copy_regions=tuple(copy_regions),
        instance_type=values.text("instanceType", INSTANCE_TYPE_PATTERN, "an x86_64 EC2 instance type like t3.micro or m7i.large"),
        availability_zone_count=values.integer("azCount", low=2, high=4),
        vpc_cidr=vpc_cidr,
        database_class=values.text("dbInstanceClass", DATABASE_CLASS_PATTERN, "an RDS class like db.t4g.micro or db.m7g.large"),
        database_storage_gb=values.integer("dbStorageGb", low=20, high=16384),
        database_multi_az=values.boolean("dbMultiAz"),
        database_backup_days=values.integer("dbBackupDays", low=1, high=35),
        hosted_zone=hosted_zone,
        tags=tags,
        database_password=pulumi.Output.secret(password or ""),
    )
