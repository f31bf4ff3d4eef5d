"""The settings every cloud shares: the app, the image's mode, the fleet's rollout, the database, DNS, log shipping.

Each ``read_*`` function reads its keys from ``Values`` and checks them with
``config.rules``; what a cloud alone decides (regions, size slugs, tags, SSH
keys) is read by that cloud's module (``config.digitalocean``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from components.common.cloud_init import ENV_NAME_PATTERN, PEM_CERTIFICATES, RESERVED_ENV_NAMES
from components.common.log_shipping import LogDestination
from components.common.rollout import RolloutStrategy
from config.rules import (
    APP_NAME_PATTERN,
    DATABASE_VERSIONS,
    DOMAIN_PATTERN,
    RECORD_PATTERN,
    SOURCE_HASH_PATTERN,
    STACK_NAME_PATTERN,
    VERSION_PATTERN,
    cidr_problems,
    dns_record_problem,
    env_credential_problem,
    log_destination_problem,
)
from config.values import Values


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
    # Only in promote mode: the content hash staging printed as `imageSourceHash`.
    source_hash: str | None
    # Only in promote mode: the stack that baked the image (its name is part of the image's).
    source_stack: str | None = None


@dataclass(frozen=True, kw_only=True)
class FleetSettings:
    count: int
    ssh_allow_cidrs: tuple[str, ...]
    health_gate_timeout: int
    rollout: RolloutStrategy
    batch_size: int


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    version: str
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


def read_app(values: Values) -> AppSettings:
    return AppSettings(
        name=values.text("appName", APP_NAME_PATTERN, "2-20 lower-case letters, digits or -, starting with a letter"),
        version=_app_version(values),
        port=values.integer("appPort", low=1024, high=65535),
        env=_parse_env(values, values.array("env")),
    )


def _app_version(values: Values) -> str:
    version = values.text("appVersion", VERSION_PATTERN, "a version like 1.4.2 or 1.5.0-rc.1")
    if not version and values.raw("appVersion") is None:
        # Declared with an empty default, so that a missing version is reported with every other problem.
        values.problem("appVersion", "is required; set it with `pulumi config set appVersion 1.4.2` (the version to bake or promote)")
    return version


def _parse_env(values: Values, entries: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        if not sep:
            values.problem("env", f"entries are NAME=value; got an entry without = ({name[:40]!r})")
        elif not ENV_NAME_PATTERN.fullmatch(name):
            values.problem("env", f"{name!r} is not a valid name (upper case letters, digits, _; starts with a letter)")
        elif name in RESERVED_ENV_NAMES:
            values.problem("env", f"{name} is set by the program itself; reserved: {', '.join(sorted(RESERVED_ENV_NAMES))}")
        elif name in env:
            values.problem("env", f"{name} is set twice")
        elif "\n" in value or "\r" in value:
            values.problem("env", f"{name}: values must be a single line")
        elif (credential := env_credential_problem(name, value)) is not None:
            values.problem("env", credential)
        else:
            env[name] = value
    return env


def read_image(values: Values) -> ImageSettings:
    mode = ImageMode(values.choice("imageMode", tuple(ImageMode)))
    source_hash = values.optional("imageSourceHash")
    if mode == ImageMode.PROMOTE:
        if source_hash is None:
            values.problem(
                "imageSourceHash",
                "is required when imageMode is promote: set it to the `imageSourceHash` output of the stack that baked the image (pulumi stack output imageSourceHash --stack staging)",
            )
        elif not SOURCE_HASH_PATTERN.fullmatch(source_hash):
            values.problem("imageSourceHash", f"must be 12 lower-case hex digits as printed by the baking stack; got {source_hash!r}")
    elif source_hash is not None:
        values.problem("imageSourceHash", "is only for imageMode promote; a baking stack computes the hash from images/")
    source_stack = values.optional("imageStack", STACK_NAME_PATTERN, "a stack name (letters, digits, -), the stack that baked the image")
    if mode == ImageMode.PROMOTE and source_stack is None:
        values.problem("imageStack", "is required when imageMode is promote: the stack that baked the image, whose name is part of it (pulumi config set imageStack staging)")
    elif mode == ImageMode.BAKE and source_stack is not None:
        values.problem("imageStack", "is only for imageMode promote; a baking stack names its images after itself")
    return ImageSettings(mode=mode, source_hash=source_hash, source_stack=source_stack)


def read_fleet(values: Values) -> FleetSettings:
    rollout = RolloutStrategy(values.choice("rollout", tuple(RolloutStrategy)))
    if values.is_set("rolloutBatchSize") and rollout != RolloutStrategy.BATCHES:
        values.problem("rolloutBatchSize", f"is only read with rollout: {RolloutStrategy.BATCHES.value} (this stack's rollout is {rollout.value}); set rollout too, or remove rolloutBatchSize")
    cidrs, cidr_errors = cidr_problems(values.array("sshAllowCidrs"))
    for message in cidr_errors:
        values.problem("sshAllowCidrs", message)
    return FleetSettings(
        count=values.integer("fleetCount", low=1, high=1000),
        ssh_allow_cidrs=cidrs,
        health_gate_timeout=values.integer("healthGateTimeout", low=60, high=3600),
        rollout=rollout,
        batch_size=values.integer("rolloutBatchSize", low=1, high=1000),
    )


def read_database(values: Values) -> DatabaseSettings:
    return DatabaseSettings(version=values.choice("dbVersion", DATABASE_VERSIONS), protect=values.boolean("dbProtect"))


def read_dns(values: Values, app_name: str) -> DnsSettings:
    domain = values.optional("domain", DOMAIN_PATTERN, "a lower-case domain name like example.com")
    record = values.optional("dnsRecord", RECORD_PATTERN, "a record name like www or @ for the apex")
    if record is not None and domain is None:
        values.problem("dnsRecord", "is set but domain is empty, so no record would be made; set domain too, or remove dnsRecord")
    elif record is not None and domain is not None and (problem := dns_record_problem(record, domain)) is not None:
        values.problem("dnsRecord", problem)
    dns = DnsSettings(
        domain=domain,
        record=record or app_name,
        ttl=values.integer("dnsTtl", low=30, high=86400),
        manage_domain=values.boolean("manageDomain"),
        tls=values.boolean("tls"),
    )
    if dns.tls and domain is None:
        values.problem("tls", "needs `domain`: the certificate (Let's Encrypt on DigitalOcean, ACM on AWS) is issued for the app's name in that domain")
    if dns.manage_domain and domain is None:
        values.problem("manageDomain", "needs `domain`")
    return dns


def read_logs(values: Values) -> LogDestination | None:
    """Where the servers ship their logs (RELP over TLS), or None: logs stay on each server."""
    destination = values.optional("logDestination")
    ca = values.optional("logDestinationCa")
    if ca is not None:
        ca = ca.replace("\r\n", "\n").strip() + "\n"
        if not PEM_CERTIFICATES.match(ca):
            values.problem("logDestinationCa", "must be one or more PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----): the CA that signed logDestination's certificate")
    if destination is None:
        if ca is not None:
            values.problem("logDestinationCa", "is set but logDestination is empty, so nothing would use it; set logDestination too, or remove logDestinationCa")
        return None
    if (problem := log_destination_problem(destination)) is not None:
        values.problem("logDestination", problem)
        return None
    host, _, port = destination.rpartition(":")
    return LogDestination(host=host, port=int(port), ca=ca)
