"""What a DigitalOcean stack alone sets: its region, image slugs, droplet and database sizes, SSH keys, tags.

Checked offline against DigitalOcean's published catalogue and slug formats
(never by calling the API), together with the rules that involve the shared
settings: a snapshot copy region in a promoting stack, SSH open without keys,
a standby node on a plan that has none, droplet hostnames too long.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from components.common.naming import FLEET_TAG_PREFIX, droplet_hostname
from config.rules import stack_name_problem
from config.shared import AppSettings, FleetSettings, ImageMode, ImageSettings
from config.values import Values

# DigitalOcean regions that offer droplets, load balancers, VPCs and managed
# PostgreSQL (https://docs.digitalocean.com/platform/regional-availability/).
DIGITALOCEAN_REGIONS = ("ams3", "atl1", "blr1", "fra1", "lon1", "nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1")

# Droplet size slugs: a family prefix, then vCPU/memory parts
# (s-1vcpu-1gb, s-2vcpu-4gb-amd, c-4, g-2vcpu-8gb, m-2vcpu-16gb, so1_5-2vcpu-16gb, gd-4vcpu-16gb-intel).
DROPLET_SIZE_PATTERN = re.compile(r"^(s|c|c2|g|gd|m|m3|m6|so|so1_5)-[0-9]+(vcpu)?(-[0-9]+gb)?(-(amd|intel|[0-9]+gb))*$")
# Managed database size slugs: db-s-1vcpu-1gb, db-s-2vcpu-4gb, gd-2vcpu-8gb, so1_5-2vcpu-16gb, db-amd-1vcpu-1gb ...
DATABASE_SIZE_PATTERN = re.compile(r"^(db-(s|amd|intel)|gd|m|so1_5)-[0-9]+vcpu-[0-9]+gb$")
# The smallest plan is a single node: DigitalOcean offers no standby node on it.
SINGLE_NODE_DATABASE_SIZES = ("db-s-1vcpu-1gb",)
BASE_IMAGE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,62}$")
# DigitalOcean tag names: letters, numbers, colons, dashes and underscores, up to 255.
TAG_PATTERN = re.compile(r"^[A-Za-z0-9:_-]{1,255}$")
SSH_KEY_PATTERN = re.compile(r"^([0-9]{1,12}|([0-9a-f]{2}:){15}[0-9a-f]{2})$")


@dataclass(frozen=True, kw_only=True)
class DigitalOceanSettings:
    region: str
    base_image: str
    """Image slug the hardened base image starts from (bake mode)."""
    image_copy_regions: tuple[str, ...]
    """Other regions Packer copies the snapshots to (bake mode)."""
    droplet_size: str
    ssh_keys: tuple[str, ...]
    database_size: str
    database_node_count: int
    """1 for a single node, 2-3 for standbys that take over on failure."""
    tags: tuple[str, ...]


# Keys only an AWS stack reads, and what to use on DigitalOcean instead.
AWS_ONLY_KEYS: Mapping[str, str] = {
    "instanceType": "use dropletSize",
    "azCount": "a DigitalOcean VPC is regional",
    "vpcCidr": "DigitalOcean picks a free VPC range",
    "dbInstanceClass": "use dbSize",
    "dbStorageGb": "storage comes with dbSize",
    "dbMultiAz": "use dbNodeCount",
    "dbBackupDays": "DigitalOcean keeps 7 days of backups",
    "hostedZone": "use domain (and manageDomain)",
}


def read_digitalocean(values: Values, *, stack: str, app: AppSettings, image: ImageSettings, fleet: FleetSettings) -> DigitalOceanSettings:
    for key, instead in AWS_ONLY_KEYS.items():
        if values.is_set(key):
            values.problem(key, f"is an AWS setting and this stack's cloud is digitalocean; {instead}")
    if values.raw("region") is None:
        # Declared with an empty default (an AWS stack does not set it), so required here.
        values.problem("region", f"is required on DigitalOcean; set it with `pulumi config set region nyc3` (one of {', '.join(DIGITALOCEAN_REGIONS)})")
    region = values.choice("region", DIGITALOCEAN_REGIONS)
    settings = DigitalOceanSettings(
        region=region,
        base_image=values.text("baseImage", BASE_IMAGE_PATTERN, "a DigitalOcean image slug like debian-13-x64"),
        # An unknown region is already reported; no copy region is then its own.
        image_copy_regions=_copy_regions(values, region if values.raw("region") == region else None, image),
        droplet_size=values.text("dropletSize", DROPLET_SIZE_PATTERN, "a droplet size slug like s-1vcpu-1gb or s-2vcpu-4gb-amd"),
        ssh_keys=tuple(values.array("sshKeys")),
        database_size=values.text("dbSize", DATABASE_SIZE_PATTERN, "a database size slug like db-s-1vcpu-1gb"),
        database_node_count=values.integer("dbNodeCount", low=1, high=3),
        tags=tuple(values.array("tags")),
    )
    values.check_each("sshKeys", list(settings.ssh_keys), SSH_KEY_PATTERN, "must be a DigitalOcean SSH key id or MD5 fingerprint (aa:bb:...)")
    if fleet.ssh_allow_cidrs and not settings.ssh_keys:
        values.problem("sshAllowCidrs", "opens SSH but sshKeys is empty: the image has no password login, so nobody could log in")
    if settings.database_node_count > 1 and settings.database_size in SINGLE_NODE_DATABASE_SIZES:
        values.problem(
            "dbNodeCount",
            f"must be 1 on dbSize {settings.database_size}: DigitalOcean offers no standby node on it; use dbSize db-s-1vcpu-2gb or larger for standbys",
        )
    values.check_each("tags", list(settings.tags), TAG_PATTERN, "is not a DigitalOcean tag (letters, digits, : _ -, up to 255)")
    for tag in settings.tags:
        # The fleet tag is trust (load balancer pool, fleet and database firewalls): no stack may put its droplets in another's.
        if tag.lower().startswith(FLEET_TAG_PREFIX) or tag.lower().endswith("-fleet"):
            values.problem("tags", f"{tag!r} could be a fleet tag, which the load balancer and the firewalls trust; tags starting with {FLEET_TAG_PREFIX!r} or ending in '-fleet' are reserved")
    _check_names(values, stack, app, fleet)
    return settings


def _copy_regions(values: Values, region: str | None, image: ImageSettings) -> tuple[str, ...]:
    copy_regions = values.array("imageCopyRegions")
    for index, extra in enumerate(copy_regions):
        if extra not in DIGITALOCEAN_REGIONS:
            values.problem("imageCopyRegions", f"{extra!r} is not a region; allowed: {', '.join(DIGITALOCEAN_REGIONS)}")
        elif extra == region:
            values.problem("imageCopyRegions", f"{extra!r} is this stack's own region, where Packer always makes the snapshot; list only other regions")
        elif extra in copy_regions[:index]:
            values.problem("imageCopyRegions", f"{extra!r} is listed twice")
    if image.mode == ImageMode.PROMOTE and copy_regions:
        values.problem("imageCopyRegions", "only a baking stack copies images; a promoting stack uses the copy the baking stack made")
    return tuple(copy_regions)


def _check_names(values: Values, stack: str, app: AppSettings, fleet: FleetSettings) -> None:
    """The stack name goes into droplet hostnames and tags, where DigitalOcean allows fewer characters."""
    if (problem := stack_name_problem(stack)) is not None:
        values.problems.append(problem)
    hostname_length = len(droplet_hostname(app.name, stack, app.version, "0" * 6, fleet.count - 1))
    if hostname_length > 63:
        values.problem("appName", f"with stack {stack!r} and version {app.version} droplet hostnames would be {hostname_length} characters; the limit is 63")
