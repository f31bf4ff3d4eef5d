"""The stack's configuration: read once, validated whole, turned into typed settings.

This is the only module that touches ``pulumi.Config``. Every key it reads is
declared (type, description, default) in ``Pulumi.yaml``; a test keeps the two
in step. ``load_settings`` collects *every* problem before it raises, so a
wrong stack file is fixed in one round, and it raises before any resource is
registered: a bad value never reaches a cloud API.

The checks are offline: region and size are checked against DigitalOcean's
published slugs and slug format, never by calling the API.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
import pulumi

from components.cloud_init import ENV_NAME_PATTERN, RESERVED_ENV_NAMES
from components.naming import droplet_hostname

PROJECT = "immutable-web"


class ConfigError(pulumi.RunError):
    """One or more stack config values are wrong; the message lists every problem.

    A ``pulumi.RunError``: the Pulumi CLI prints its message alone, with no
    "Program failed with an unhandled exception" and no traceback.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


class Cloud(StrEnum):
    DIGITALOCEAN = "digitalocean"
    AWS = "aws"


class ImageMode(StrEnum):
    BAKE = "bake"  # this stack runs Packer (staging)
    PROMOTE = "promote"  # this stack uses the image another stack baked (prod)


# DigitalOcean regions that offer droplets, load balancers, VPCs and managed
# PostgreSQL (https://docs.digitalocean.com/platform/regional-availability/).
DIGITALOCEAN_REGIONS = (
    "ams3",
    "atl1",
    "blr1",
    "fra1",
    "lon1",
    "nyc1",
    "nyc2",
    "nyc3",
    "sfo2",
    "sfo3",
    "sgp1",
    "syd1",
    "tor1",
)

# Droplet size slugs: a family prefix, then vCPU/memory parts
# (s-1vcpu-1gb, s-2vcpu-4gb-amd, c-4, g-2vcpu-8gb, m-2vcpu-16gb, so1_5-2vcpu-16gb, gd-4vcpu-16gb-intel).
DROPLET_SIZE_PATTERN = re.compile(r"^(s|c|c2|g|gd|m|m3|m6|so|so1_5)-[0-9]+(vcpu)?(-[0-9]+gb)?(-(amd|intel|[0-9]+gb))*$")
# Managed database size slugs: db-s-1vcpu-1gb, db-s-2vcpu-4gb, gd-2vcpu-8gb, so1_5-2vcpu-16gb, db-amd-1vcpu-1gb ...
DATABASE_SIZE_PATTERN = re.compile(r"^(db-(s|amd|intel)|gd|m|so1_5)-[0-9]+vcpu-[0-9]+gb$")
DATABASE_VERSIONS = ("13", "14", "15", "16", "17")
APP_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
VERSION_PATTERN = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9a-z]+(\.[0-9a-z]+)*)?$")
SOURCE_HASH_PATTERN = re.compile(r"^[0-9a-f]{12}$")
BASE_IMAGE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,62}$")
HEALTH_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9._~/-]{0,100}$")
DOMAIN_PATTERN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
RECORD_PATTERN = re.compile(r"^(@|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9:_.-]{1,255}$")
SSH_KEY_PATTERN = re.compile(r"^([0-9]{1,12}|([0-9a-f]{2}:){15}[0-9a-f]{2})$")


@dataclass(frozen=True, kw_only=True)
class AppSettings:
    name: str
    version: str
    port: int
    health_path: str
    env: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class ImageSettings:
    mode: ImageMode
    base_image: str
    copy_to_regions: tuple[str, ...]
    # Only in promote mode: the content hash staging printed as `imageSourceHash`.
    source_hash: str | None


@dataclass(frozen=True, kw_only=True)
class FleetSettings:
    count: int
    size: str
    ssh_allow_cidrs: tuple[str, ...]
    ssh_keys: tuple[str, ...]
    health_gate_timeout: int


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    version: str
    size: str
    node_count: int
    protect: bool


@dataclass(frozen=True, kw_only=True)
class DnsSettings:
    domain: str | None
    record: str
    ttl: int
    manage_domain: bool
    tls: bool

    @property
    def fqdn(self) -> str | None:
        if self.domain is None:
            return None
        return self.domain if self.record == "@" else f"{self.record}.{self.domain}"


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """Everything the program needs, validated. Components receive parts of it, never `pulumi.Config`."""

    stack: str
    cloud: Cloud
    region: str
    app: AppSettings
    image: ImageSettings
    fleet: FleetSettings
    database: DatabaseSettings
    dns: DnsSettings
    tags: tuple[str, ...]
    app_secret: pulumi.Output[str] = field(repr=False)


# ---------------------------------------------------------------------------
# Reading raw values. A key's raw value is the string the Pulumi CLI hands the
# program (arrays arrive as JSON); defaults come from Pulumi.yaml through the CLI.


@dataclass(frozen=True)
class KeySpec:
    type: str  # string | integer | boolean | array (the Pulumi.yaml schema types)
    secret: bool = False


# Every key this program reads; Pulumi.yaml declares exactly these (tested).
KEYS: Mapping[str, KeySpec] = {
    "cloud": KeySpec("string"),
    "region": KeySpec("string"),
    "appName": KeySpec("string"),
    "appVersion": KeySpec("string"),
    "appPort": KeySpec("integer"),
    "healthPath": KeySpec("string"),
    "env": KeySpec("array"),
    "appSecret": KeySpec("string", secret=True),
    "imageMode": KeySpec("string"),
    "baseImage": KeySpec("string"),
    "imageCopyRegions": KeySpec("array"),
    "imageSourceHash": KeySpec("string"),
    "fleetCount": KeySpec("integer"),
    "dropletSize": KeySpec("string"),
    "sshAllowCidrs": KeySpec("array"),
    "sshKeys": KeySpec("array"),
    "healthGateTimeout": KeySpec("integer"),
    "dbVersion": KeySpec("string"),
    "dbSize": KeySpec("string"),
    "dbNodeCount": KeySpec("integer"),
    "dbProtect": KeySpec("boolean"),
    "domain": KeySpec("string"),
    "dnsRecord": KeySpec("string"),
    "dnsTtl": KeySpec("integer"),
    "manageDomain": KeySpec("boolean"),
    "tls": KeySpec("boolean"),
    "tags": KeySpec("array"),
}


def _all_config_keys() -> set[str]:
    """Every fully-qualified config key the engine handed this program."""
    from pulumi.runtime import config as runtime_config

    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


class _Reader:
    """Reads raw values and records problems instead of stopping at the first one."""

    def __init__(self, config: pulumi.Config):
        self.config = config
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{PROJECT}:{key}: {message}")

    def string(self, key: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.config.get(key)
        if value is None or value == "":
            if required:
                self.problem(key, f"is required; set it with `pulumi config set {key} <value>`")
            return default
        return value

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        raw = self.config.get(key)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problem(key, f"must be a whole number from {low} to {high}, got {raw!r}")
            return default
        if not low <= value <= high:
            self.problem(key, f"must be from {low} to {high}, got {value}")
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        raw = self.config.get(key)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        self.problem(key, f"must be true or false, got {raw!r}")
        return default

    def array(self, key: str) -> list[str]:
        raw = self.config.get(key)
        if raw is None or raw == "":
            return []
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            self.problem(key, f"must be a list of strings, got {raw!r}")
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(key, "must be a list of strings")
            return []
        return value

    def choice(self, key: str, allowed: tuple[str, ...], *, default: str | None = None) -> str | None:
        value = self.string(key, required=default is None, default=default)
        if value is not None and value not in allowed:
            self.problem(key, f"must be one of {', '.join(allowed)}; got {value!r}")
            return default
        return value

    def matching(self, key: str, pattern: re.Pattern[str], what: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.string(key, required=required, default=default)
        if value is not None and not pattern.match(value):
            self.problem(key, f"must be {what}; got {value!r}")
        return value


def _check_unknown_keys(reader: _Reader, present: set[str]) -> None:
    prefix = f"{PROJECT}:"
    for full_key in sorted(present):
        if full_key.startswith(prefix) and full_key[len(prefix) :] not in KEYS:
            key = full_key[len(prefix) :]
            reader.problem(key, f"is not a known key; allowed keys: {', '.join(sorted(KEYS))}")


def _parse_env(reader: _Reader, entries: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        if not sep:
            reader.problem("env", f"entries are NAME=value; got {entry!r}")
        elif not ENV_NAME_PATTERN.match(name):
            reader.problem("env", f"{name!r} is not a valid name (upper case letters, digits, _; starts with a letter)")
        elif name in RESERVED_ENV_NAMES:
            reader.problem("env", f"{name} is set by the program itself; reserved: {', '.join(sorted(RESERVED_ENV_NAMES))}")
        elif name in env:
            reader.problem("env", f"{name} is set twice")
        elif "\n" in value or "\r" in value:
            reader.problem("env", f"{name}: values must be a single line")
        elif "DATABASE" in name or "PASSWORD" in name or "SECRET" in name or "TOKEN" in name:
            reader.problem("env", f"{name} looks like a credential: env values are plain text in the stack file; use appSecret (a Pulumi secret) or the managed database instead")
        else:
            env[name] = value
    return env


def _parse_cidrs(reader: _Reader, entries: list[str]) -> tuple[str, ...]:
    cidrs = []
    for entry in entries:
        try:
            network = ipaddress.ip_network(entry, strict=True)
        except ValueError:
            reader.problem("sshAllowCidrs", f"{entry!r} is not a CIDR block like 203.0.113.7/32")
            continue
        if network.prefixlen == 0:
            reader.problem("sshAllowCidrs", f"{entry} opens SSH to the whole internet; list the operators' addresses instead")
            continue
        cidrs.append(str(network))
    return tuple(cidrs)


def load_settings(
    config: pulumi.Config | None = None,
    *,
    stack: str | None = None,
    present_keys: set[str] | None = None,
) -> StackSettings:
    """Read and validate the whole stack config. Raises ``ConfigError`` listing every problem."""
    config = config or pulumi.Config(PROJECT)
    stack = stack or pulumi.get_stack()
    reader = _Reader(config)
    _check_unknown_keys(reader, _all_config_keys() if present_keys is None else present_keys)

    cloud = reader.choice("cloud", tuple(c.value for c in Cloud), default=Cloud.DIGITALOCEAN.value)
    if cloud == Cloud.AWS:
        reader.problem("cloud", "aws is planned but not built yet; allowed now: digitalocean")
    region = reader.choice("region", DIGITALOCEAN_REGIONS)

    app = AppSettings(
        name=reader.matching("appName", APP_NAME_PATTERN, "2-20 lower-case letters, digits or -, starting with a letter", default="hello") or "hello",
        version=reader.matching("appVersion", VERSION_PATTERN, "a version like 1.4.2 or 1.5.0-rc.1", required=True) or "0.0.0",
        port=reader.integer("appPort", default=8080, low=1024, high=65535),
        health_path=reader.matching("healthPath", HEALTH_PATH_PATTERN, "an absolute URL path like /healthz", default="/healthz") or "/healthz",
        env=_parse_env(reader, reader.array("env")),
    )

    mode = ImageMode(reader.choice("imageMode", tuple(m.value for m in ImageMode), default=ImageMode.BAKE.value))
    copy_regions = reader.array("imageCopyRegions")
    for extra in copy_regions:
        if extra not in DIGITALOCEAN_REGIONS:
            reader.problem("imageCopyRegions", f"{extra!r} is not a region; allowed: {', '.join(DIGITALOCEAN_REGIONS)}")
    source_hash = reader.string("imageSourceHash")
    if mode == ImageMode.PROMOTE:
        if source_hash is None:
            reader.problem(
                "imageSourceHash",
                "is required when imageMode is promote: set it to the `imageSourceHash` output of the stack that baked the image (pulumi stack output imageSourceHash --stack staging)",
            )
        elif not SOURCE_HASH_PATTERN.match(source_hash):
            reader.problem("imageSourceHash", f"must be 12 lower-case hex digits as printed by the baking stack; got {source_hash!r}")
        if copy_regions:
            reader.problem("imageCopyRegions", "only a baking stack copies images; a promoting stack uses the copy the baking stack made")
    elif source_hash is not None:
        reader.problem("imageSourceHash", "is only for imageMode promote; a baking stack computes the hash from images/")
    image = ImageSettings(
        mode=mode,
        base_image=reader.matching("baseImage", BASE_IMAGE_PATTERN, "a DigitalOcean image slug like debian-12-x64", default="debian-12-x64") or "debian-12-x64",
        copy_to_regions=tuple(copy_regions),
        source_hash=source_hash,
    )

    ssh_keys = reader.array("sshKeys")
    for key in ssh_keys:
        if not SSH_KEY_PATTERN.match(key):
            reader.problem("sshKeys", f"{key!r} must be a DigitalOcean SSH key id or MD5 fingerprint (aa:bb:...)")
    fleet = FleetSettings(
        count=reader.integer("fleetCount", default=2, low=1, high=1000),
        size=reader.matching("dropletSize", DROPLET_SIZE_PATTERN, "a droplet size slug like s-1vcpu-1gb or s-2vcpu-4gb-amd", default="s-1vcpu-1gb") or "s-1vcpu-1gb",
        ssh_allow_cidrs=_parse_cidrs(reader, reader.array("sshAllowCidrs")),
        ssh_keys=tuple(ssh_keys),
        health_gate_timeout=reader.integer("healthGateTimeout", default=600, low=60, high=3600),
    )
    if fleet.ssh_allow_cidrs and not fleet.ssh_keys:
        reader.problem("sshAllowCidrs", "opens SSH but sshKeys is empty: the image has no password login, so nobody could log in")

    database = DatabaseSettings(
        version=reader.choice("dbVersion", DATABASE_VERSIONS, default="16") or "16",
        size=reader.matching("dbSize", DATABASE_SIZE_PATTERN, "a database size slug like db-s-1vcpu-1gb", default="db-s-1vcpu-1gb") or "db-s-1vcpu-1gb",
        node_count=reader.integer("dbNodeCount", default=1, low=1, high=3),
        protect=reader.boolean("dbProtect", default=True),
    )

    domain = reader.matching("domain", DOMAIN_PATTERN, "a lower-case domain name like example.com")
    dns = DnsSettings(
        domain=domain,
        record=reader.matching("dnsRecord", RECORD_PATTERN, "a record name like www or @ for the apex", default=app.name) or app.name,
        ttl=reader.integer("dnsTtl", default=60, low=30, high=86400),
        manage_domain=reader.boolean("manageDomain", default=False),
        tls=reader.boolean("tls", default=False),
    )
    if dns.tls and domain is None:
        reader.problem("tls", "needs `domain`: a Let's Encrypt certificate is issued for a name in a domain DigitalOcean serves")
    if dns.manage_domain and domain is None:
        reader.problem("manageDomain", "needs `domain`")

    tags = reader.array("tags")
    for tag in tags:
        if not TAG_PATTERN.match(tag):
            reader.problem("tags", f"{tag!r} is not a DigitalOcean tag (letters, digits, : _ . -, up to 255)")

    hostname_length = len(droplet_hostname(app.name, stack, app.version, "0" * 6, fleet.count - 1))
    if hostname_length > 63:
        reader.problem("appName", f"with stack {stack!r} and version {app.version} droplet hostnames would be {hostname_length} characters; the limit is 63")

    secret = config.get_secret("appSecret")
    if secret is None:
        reader.problem("appSecret", "is required and must be a secret: pulumi config set --secret appSecret \"$(openssl rand -hex 32)\"")

    if reader.problems:
        raise ConfigError(reader.problems)
    assert region is not None and secret is not None
    return StackSettings(
        stack=stack,
        cloud=Cloud(cloud),
        region=region,
        app=app,
        image=image,
        fleet=fleet,
        database=database,
        dns=dns,
        tags=tuple(tags),
        app_secret=secret,
    )
