"""The stack's configuration: read once, validated whole, turned into typed settings.

This is the only module that touches ``pulumi.Config``. Every key it reads is
declared (type, description, default) in ``Pulumi.yaml``; a test keeps the two
in step. ``load_settings`` collects *every* problem before it raises, so a
wrong stack file is fixed in one round, and it raises before any resource is
registered: a bad value never reaches a cloud API.

It reads either what the Pulumi CLI handed the program or, in tests, a plain
dict. The checks are offline (``components.config_rules``): region and size
are checked against DigitalOcean's published slugs and slug format, never by
calling the API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import overload

import pulumi

from components.common.cloud_init import ENV_NAME_PATTERN, RESERVED_ENV_NAMES
from components.common.naming import droplet_hostname
from components.common.rollout import RolloutStrategy
from components.config_rules import (
    APP_NAME_PATTERN,
    BASE_IMAGE_PATTERN,
    DATABASE_SIZE_PATTERN,
    DATABASE_VERSIONS,
    DIGITALOCEAN_REGIONS,
    DOMAIN_PATTERN,
    DROPLET_SIZE_PATTERN,
    RECORD_PATTERN,
    SINGLE_NODE_DATABASE_SIZES,
    SOURCE_HASH_PATTERN,
    SSH_KEY_PATTERN,
    STACK_NAME_PATTERN,
    TAG_PATTERN,
    VERSION_PATTERN,
    cidr_problems,
    dns_record_problem,
    env_credential_problem,
)

PROJECT = "immutable-web"
# Config namespaces this program's stacks use: its own, the DigitalOcean provider's, and Pulumi's.
NAMESPACES = (PROJECT, "digitalocean", "pulumi")


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


@dataclass(frozen=True, kw_only=True)
class AppSettings:
    name: str
    version: str
    port: int
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
    rollout: RolloutStrategy
    batch_size: int


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
    "rollout": KeySpec("string"),
    "rolloutBatchSize": KeySpec("integer"),
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


def _runtime_config() -> tuple[dict[str, str], set[str]]:
    """Every fully-qualified key and raw value the engine handed this program, and which are secret."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    values = {key: runtime_config.get_config(key) for key in keys}
    return {k: v for k, v in values.items() if v is not None}, {k for k in keys if pulumi.runtime.is_config_secret(k)}


class _Reader:
    """Reads raw values of this project's keys and records problems instead of stopping at the first one."""

    def __init__(self, values: Mapping[str, str]):
        self.values = values
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{PROJECT}:{key}: {message}")

    def raw(self, key: str) -> str | None:
        value = self.values.get(key)
        return None if value is None or value == "" else value

    def string(self, key: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.raw(key)
        if value is None:
            if required:
                self.problem(key, f"is required; set it with `pulumi config set {key} <value>`")
            return default
        return value

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        raw = self.raw(key)
        if raw is None:
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
        raw = self.raw(key)
        if raw is None:
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        self.problem(key, f"must be true or false, got {raw!r}")
        return default

    def array(self, key: str) -> list[str]:
        raw = self.raw(key)
        if raw is None:
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

    @overload
    def choice(self, key: str, allowed: tuple[str, ...], *, default: str) -> str: ...
    @overload
    def choice(self, key: str, allowed: tuple[str, ...], *, default: None = None) -> str | None: ...
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


# Keys earlier versions read, and why they are gone.
RETIRED_KEYS: Mapping[str, str] = {
    "healthPath": (
        "is no longer configurable: the image serves /readyz (the load balancer's check) and /healthz (the health gate's), a contract fixed in the image (components/common/serving.py); remove the key"
    ),
}


def _check_keys(reader: _Reader, full_keys: Collection[str]) -> None:
    """Keys in a namespace nobody reads (immutable_web:region) or unknown in ours (apPort) are typos."""
    for full_key in sorted(full_keys):
        namespace, _, key = full_key.rpartition(":")
        if namespace == PROJECT and key in RETIRED_KEYS:
            reader.problem(key, RETIRED_KEYS[key])
        elif namespace == PROJECT and key not in KEYS:
            reader.problem(key, f"is not a known key; allowed keys: {', '.join(sorted(KEYS))}")
        elif namespace not in NAMESPACES:
            hint = f"; did you mean {PROJECT}:{key}?" if key in KEYS else ""
            reader.problems.append(f"{full_key}: namespace {namespace or '(none)'!r} is read by nothing in this program; keys are {PROJECT}:KEY, digitalocean:KEY or pulumi:KEY{hint}")


def _parse_env(reader: _Reader, entries: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        if not sep:
            reader.problem("env", f"entries are NAME=value; got an entry without = ({name[:40]!r})")
        elif not ENV_NAME_PATTERN.match(name):
            reader.problem("env", f"{name!r} is not a valid name (upper case letters, digits, _; starts with a letter)")
        elif name in RESERVED_ENV_NAMES:
            reader.problem("env", f"{name} is set by the program itself; reserved: {', '.join(sorted(RESERVED_ENV_NAMES))}")
        elif name in env:
            reader.problem("env", f"{name} is set twice")
        elif "\n" in value or "\r" in value:
            reader.problem("env", f"{name}: values must be a single line")
        elif (credential := env_credential_problem(name, value)) is not None:
            reader.problem("env", credential)
        else:
            env[name] = value
    return env


def _check_list(reader: _Reader, key: str, items: list[str], pattern: re.Pattern[str], what: str) -> None:
    for item in items:
        if not pattern.match(item):
            reader.problem(key, f"{item!r} {what}")


def _image_settings(reader: _Reader, region: str | None) -> ImageSettings:
    mode = ImageMode(reader.choice("imageMode", tuple(m.value for m in ImageMode), default=ImageMode.BAKE.value))
    copy_regions = reader.array("imageCopyRegions")
    for index, extra in enumerate(copy_regions):
        if extra not in DIGITALOCEAN_REGIONS:
            reader.problem("imageCopyRegions", f"{extra!r} is not a region; allowed: {', '.join(DIGITALOCEAN_REGIONS)}")
        elif extra == region:
            reader.problem("imageCopyRegions", f"{extra!r} is this stack's own region, where Packer always makes the snapshot; list only other regions")
        elif extra in copy_regions[:index]:
            reader.problem("imageCopyRegions", f"{extra!r} is listed twice")
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
    return ImageSettings(
        mode=mode,
        base_image=reader.matching("baseImage", BASE_IMAGE_PATTERN, "a DigitalOcean image slug like debian-12-x64", default="debian-12-x64") or "debian-12-x64",
        copy_to_regions=tuple(copy_regions),
        source_hash=source_hash,
    )


def _fleet_settings(reader: _Reader) -> FleetSettings:
    ssh_keys = reader.array("sshKeys")
    _check_list(reader, "sshKeys", ssh_keys, SSH_KEY_PATTERN, "must be a DigitalOcean SSH key id or MD5 fingerprint (aa:bb:...)")
    cidrs, cidr_errors = cidr_problems(reader.array("sshAllowCidrs"))
    for message in cidr_errors:
        reader.problem("sshAllowCidrs", message)
    if cidrs and not ssh_keys:
        reader.problem("sshAllowCidrs", "opens SSH but sshKeys is empty: the image has no password login, so nobody could log in")
    return FleetSettings(
        count=reader.integer("fleetCount", default=2, low=1, high=1000),
        size=reader.matching("dropletSize", DROPLET_SIZE_PATTERN, "a droplet size slug like s-1vcpu-1gb or s-2vcpu-4gb-amd", default="s-1vcpu-1gb") or "s-1vcpu-1gb",
        ssh_allow_cidrs=cidrs,
        ssh_keys=tuple(ssh_keys),
        health_gate_timeout=reader.integer("healthGateTimeout", default=600, low=60, high=3600),
        rollout=RolloutStrategy(reader.choice("rollout", tuple(RolloutStrategy), default=RolloutStrategy.ALL_AT_ONCE) or RolloutStrategy.ALL_AT_ONCE),
        batch_size=reader.integer("rolloutBatchSize", default=1, low=1, high=1000),
    )


def _database_settings(reader: _Reader) -> DatabaseSettings:
    database = DatabaseSettings(
        version=reader.choice("dbVersion", DATABASE_VERSIONS, default="16") or "16",
        size=reader.matching("dbSize", DATABASE_SIZE_PATTERN, "a database size slug like db-s-1vcpu-1gb", default="db-s-1vcpu-1gb") or "db-s-1vcpu-1gb",
        node_count=reader.integer("dbNodeCount", default=1, low=1, high=3),
        protect=reader.boolean("dbProtect", default=True),
    )
    if database.node_count > 1 and database.size in SINGLE_NODE_DATABASE_SIZES:
        reader.problem(
            "dbNodeCount",
            f"must be 1 on dbSize {database.size}: DigitalOcean offers no standby node on it; use dbSize db-s-1vcpu-2gb or larger for standbys",
        )
    return database


def _dns_settings(reader: _Reader, app_name: str) -> DnsSettings:
    domain = reader.matching("domain", DOMAIN_PATTERN, "a lower-case domain name like example.com")
    record = reader.matching("dnsRecord", RECORD_PATTERN, "a record name like www or @ for the apex")
    if record is not None and domain is None:
        reader.problem("dnsRecord", "is set but domain is empty, so no record would be made; set domain too, or remove dnsRecord")
    elif record is not None and domain is not None and (problem := dns_record_problem(record, domain)) is not None:
        reader.problem("dnsRecord", problem)
    dns = DnsSettings(
        domain=domain,
        record=record or app_name,
        ttl=reader.integer("dnsTtl", default=60, low=30, high=86400),
        manage_domain=reader.boolean("manageDomain", default=False),
        tls=reader.boolean("tls", default=False),
    )
    if dns.tls and domain is None:
        reader.problem("tls", "needs `domain`: a Let's Encrypt certificate is issued for a name in a domain DigitalOcean serves")
    if dns.manage_domain and domain is None:
        reader.problem("manageDomain", "needs `domain`")
    return dns


def _check_names(reader: _Reader, stack: str, app: AppSettings, fleet: FleetSettings) -> None:
    """The stack name goes into droplet hostnames and tags, where DigitalOcean allows fewer characters."""
    if not STACK_NAME_PATTERN.match(stack):
        reader.problems.append(
            f"stack {stack!r}: the stack name becomes part of droplet hostnames and tags, which allow only letters, digits and - "
            f"(up to 40); rename it, e.g. pulumi stack rename {re.sub(r'[^A-Za-z0-9-]+', '-', stack)[:40]}"
        )
    hostname_length = len(droplet_hostname(app.name, stack, app.version, "0" * 6, fleet.count - 1))
    if hostname_length > 63:
        reader.problem("appName", f"with stack {stack!r} and version {app.version} droplet hostnames would be {hostname_length} characters; the limit is 63")


def load_settings(
    values: Mapping[str, str] | None = None,
    *,
    stack: str | None = None,
    secret_keys: Collection[str] = (),
) -> StackSettings:
    """Read and validate the whole stack config. Raises ``ConfigError`` listing every problem.

    With no ``values``, reads what the Pulumi CLI handed the program. Tests pass
    ``values`` (keys short, ``region``, or full, ``digitalocean:token``; values as the
    CLI's strings) and the keys that are ``secret_keys``.
    """
    if values is None:
        full, secret = _runtime_config()
    else:
        full = {(key if ":" in key else f"{PROJECT}:{key}"): value for key, value in values.items()}
        secret = {key if ":" in key else f"{PROJECT}:{key}" for key in secret_keys}
    stack = stack or pulumi.get_stack()
    prefix = f"{PROJECT}:"
    reader = _Reader({key[len(prefix) :]: value for key, value in full.items() if key.startswith(prefix)})
    _check_keys(reader, full)

    cloud = reader.choice("cloud", tuple(c.value for c in Cloud), default=Cloud.DIGITALOCEAN.value)
    if cloud == Cloud.AWS:
        reader.problem("cloud", "aws is planned but not built yet; allowed now: digitalocean")
    region = reader.choice("region", DIGITALOCEAN_REGIONS)
    app = AppSettings(
        name=reader.matching("appName", APP_NAME_PATTERN, "2-20 lower-case letters, digits or -, starting with a letter", default="hello") or "hello",
        version=reader.matching("appVersion", VERSION_PATTERN, "a version like 1.4.2 or 1.5.0-rc.1", required=True) or "0.0.0",
        port=reader.integer("appPort", default=8080, low=1024, high=65535),
        env=_parse_env(reader, reader.array("env")),
    )
    image = _image_settings(reader, region)
    fleet = _fleet_settings(reader)
    database = _database_settings(reader)
    dns = _dns_settings(reader, app.name)
    tags = reader.array("tags")
    _check_list(reader, "tags", tags, TAG_PATTERN, "is not a DigitalOcean tag (letters, digits, : _ -, up to 255)")
    _check_names(reader, stack, app, fleet)

    secret_value = reader.raw("appSecret")
    if secret_value is None:
        reader.problem("appSecret", 'is required and must be a secret: pulumi config set --secret appSecret "$(openssl rand -hex 32)"')
    elif f"{PROJECT}:appSecret" not in secret:
        reader.problem("appSecret", 'is in plain text in the stack file; remove it and set it encrypted: pulumi config set --secret appSecret "$(openssl rand -hex 32)"')

    if reader.problems:
        raise ConfigError(reader.problems)
    assert region is not None and secret_value is not None
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
        app_secret=pulumi.Output.secret(secret_value),
    )
