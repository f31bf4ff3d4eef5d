"""The stack's configuration: read once, validated whole, turned into typed settings.

This is the only module that touches Pulumi's config. Every key is declared
(type, description, default) in ``Pulumi.yaml`` (``config.declarations``).
``load_settings`` collects *every* problem before it raises, so a wrong stack
file is fixed in one round, and it raises before any resource is registered:
a bad value never reaches a cloud API.

It reads either what the Pulumi CLI handed the program or, in tests, a plain
dict. The settings come in two parts: what every cloud shares
(``config.shared``) and what the stack's cloud alone sets (``config.digitalocean``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import pulumi

from components.common.log_shipping import LogDestination
from config.aws import DIGITALOCEAN_ONLY_KEYS, AwsSettings, read_aws
from config.digitalocean import AWS_ONLY_KEYS, DigitalOceanSettings, read_digitalocean
from config.shared import AppSettings, Cloud, DatabaseSettings, DnsSettings, FleetSettings, ImageSettings, read_app, read_database, read_dns, read_fleet, read_image, read_logs
from config.values import PROJECT, ConfigError, Values, did_you_mean

# Config namespaces this program's stacks use: its own, the providers' (DigitalOcean, AWS), and Pulumi's.
NAMESPACES = (PROJECT, "digitalocean", "aws", "pulumi")


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """Everything the program needs, validated. Components receive parts of it, never Pulumi's config."""

    stack: str
    cloud: Cloud
    app: AppSettings
    image: ImageSettings
    fleet: FleetSettings
    database: DatabaseSettings
    dns: DnsSettings
    logs: LogDestination | None
    """Where the servers ship their logs; None: they stay on each server."""
    digitalocean: DigitalOceanSettings | None
    """The DigitalOcean part: set exactly when `cloud` is digitalocean."""
    aws: AwsSettings | None
    """The AWS part: set exactly when `cloud` is aws."""
    app_secret: pulumi.Output[str] = field(repr=False)
    app_secret_previous: pulumi.Output[str] | None = field(default=None, repr=False)
    """The secret appSecret held before a rotation: the app still reads sessions made with it (unset: no grace period)."""


# Keys earlier versions read, and why they are gone.
RETIRED_KEYS: Mapping[str, str] = {
    "healthPath": (
        "is no longer configurable: the image serves /readyz (the load balancer's check) and /healthz (the health gate's), a contract fixed in the image (components/common/serving.py); remove the key"
    ),
}

# How to set each app secret: a new random one, or the one appSecret held until this rotation.
APP_SECRET_COMMANDS = {
    "appSecret": 'pulumi config set --secret appSecret "$(openssl rand -hex 32)"',
    "appSecretPrevious": "pulumi config set --secret appSecretPrevious <the value appSecret had before the rotation>",
}


# Provider settings that are credentials: the README's way is the environment (DIGITALOCEAN_TOKEN, AWS_PROFILE ...);
# in a stack file (committed) only as ciphertext, `pulumi config set --secret`.
PROVIDER_CREDENTIALS: Mapping[str, str] = {
    "digitalocean:token": "DIGITALOCEAN_TOKEN",
    "digitalocean:spacesAccessId": "SPACES_ACCESS_KEY_ID",
    "digitalocean:spacesSecretKey": "SPACES_SECRET_ACCESS_KEY",
    "aws:accessKey": "AWS_ACCESS_KEY_ID",
    "aws:secretKey": "AWS_SECRET_ACCESS_KEY",
    "aws:token": "AWS_SESSION_TOKEN",
}
# What openssl rand -hex 32 gives is 64; fewer than 32 characters is not a key worth deriving sessions from.
APP_SECRET_MIN_LENGTH = 32
# Keys declared with an empty default (so the CLI lets the program report them with every other problem) that it requires.
REQUIRED_KEYS = ("appVersion", "appSecret")

# The clouds with a deployment (deployments/, which a test holds to this); others are refused by name until theirs exists.
BUILT_CLOUDS = (Cloud.DIGITALOCEAN, Cloud.AWS)


def other_clouds_keys(cloud: str) -> frozenset[str]:
    """Keys only other clouds read: a stack on ``cloud`` gets their declared defaults from the CLI, and uses none of them."""
    if cloud == Cloud.AWS:
        return frozenset(DIGITALOCEAN_ONLY_KEYS)
    return frozenset(AWS_ONLY_KEYS) | {"dbPassword"}


def _runtime_config() -> tuple[dict[str, str], set[str]]:
    """Every fully-qualified key and raw value the engine handed this program, and which are secret."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    values = {key: runtime_config.get_config(key) for key in keys}
    return {k: v for k, v in values.items() if v is not None}, {k for k in keys if pulumi.runtime.is_config_secret(k)}


def _check_keys(values: Values, full_keys: Collection[str]) -> None:
    """Keys in a namespace nobody reads (immutable_web:region) or unknown in ours (apPort) are typos."""
    for full_key in sorted(full_keys):
        namespace, _, key = full_key.rpartition(":")
        if namespace == PROJECT and key in RETIRED_KEYS:
            values.problem(key, RETIRED_KEYS[key])
        elif namespace == PROJECT and key not in values.declared:
            allowed = f"; allowed keys: {', '.join(sorted(values.declared))}"
            values.problem(key, f"is not a known key{did_you_mean(key, values.declared) or allowed}")
        elif namespace not in NAMESPACES:
            hint = f"; did you mean {PROJECT}:{key}?" if key in values.declared else ""
            values.problems.append(f"{full_key}: namespace {namespace or '(none)'!r} is read by nothing in this program; keys are {PROJECT}:KEY, digitalocean:KEY, aws:KEY or pulumi:KEY{hint}")


def _check_provider_credentials(values: Values, full: Mapping[str, str], secret: Collection[str]) -> None:
    """A provider credential in the stack file must be ciphertext; its value is never echoed."""
    for key, variable in PROVIDER_CREDENTIALS.items():
        if full.get(key) and key not in secret:
            values.problems.append(
                f"{key}: is a credential in plain text in the stack file (committed, and printed by the plan); remove it "
                f"(`pulumi config rm {key}`) and export {variable} instead, or set it encrypted: pulumi config set --secret {key} <value>"
            )


def read_settings(values: Values, *, stack: str, secret: Collection[str], full: Mapping[str, str] | None = None) -> StackSettings | None:
    """The settings from ``values``, or None when ``values.problems`` says what is wrong."""
    _check_provider_credentials(values, full or {}, secret)
    cloud = Cloud(values.choice("cloud", tuple(Cloud)))
    if cloud not in BUILT_CLOUDS:
        values.problem("cloud", f"{cloud} is planned but not built yet; allowed now: {', '.join(BUILT_CLOUDS)}")
    app = read_app(values)
    image = read_image(values)
    fleet = read_fleet(values)
    database = read_database(values)
    dns = read_dns(values, app.name)
    logs = read_logs(values)
    digitalocean = read_digitalocean(values, stack=stack, app=app, image=image, fleet=fleet) if cloud == Cloud.DIGITALOCEAN else None
    aws = read_aws(values, stack=stack, app=app, logs=logs, full=full or {}, secret=set(secret), image=image, fleet=fleet, dns=dns) if cloud == Cloud.AWS else None

    secret_value = _app_secret(values, "appSecret", secret, required=True)
    previous_value = _app_secret(values, "appSecretPrevious", secret, required=False)
    if previous_value is not None and previous_value == secret_value:
        # The value is never echoed: the message names the key only.
        values.problem("appSecretPrevious", "is the same as appSecret; it must hold the secret appSecret had before the rotation (or be removed: `pulumi config rm appSecretPrevious`)")
    if values.problems or secret_value is None:
        return None
    return StackSettings(
        stack=stack,
        cloud=cloud,
        app=app,
        image=image,
        fleet=fleet,
        database=database,
        dns=dns,
        logs=logs,
        digitalocean=digitalocean,
        aws=aws,
        app_secret=pulumi.Output.secret(secret_value),
        app_secret_previous=None if previous_value is None else pulumi.Output.secret(previous_value),
    )


def _app_secret(values: Values, key: str, secret: Collection[str], *, required: bool) -> str | None:
    """An app secret's value (appSecret, appSecretPrevious), or None when unset or wrong (``values.problems`` says why).

    One rule for both, since the app treats them alike (images/webapp/sessions.py): encrypted in the
    stack file, and one line (an environment file, on either cloud, cannot carry a line break).
    """
    value = values.raw(key)
    if value is None:
        if required:
            values.problem(key, f"is required and must be a secret: {APP_SECRET_COMMANDS[key]}")
        return None
    if f"{PROJECT}:{key}" not in secret:
        values.problem(key, f"is in plain text in the stack file; remove it and set it encrypted: {APP_SECRET_COMMANDS[key]}")
        return None
    if "\n" in value or "\r" in value:
        values.problem(key, "holds a line break, which the app's environment file cannot carry; use a one-line value (openssl rand -hex 32 makes one)")
        return None
    if key == "appSecret" and len(value) < APP_SECRET_MIN_LENGTH:
        # The sessions' key is derived from it with HKDF, which does not stretch: it must be random and long already.
        values.problem(key, f"is too short to be a random key (at least {APP_SECRET_MIN_LENGTH} characters; the value is not shown): {APP_SECRET_COMMANDS[key]}")
        return None
    return value


def load_settings(
    values: Mapping[str, str] | None = None,
    *,
    stack: str | None = None,
    secret_keys: Collection[str] = (),
) -> StackSettings:
    """Read and validate the whole stack config. Raises ``ConfigError`` listing every problem.

    With no ``values``, reads what the Pulumi CLI handed the program. Tests pass
    ``values`` (keys short, ``region``, or full, ``digitalocean:token``; values as the
    CLI's strings; an absent key takes its `Pulumi.yaml` default) and the keys that are ``secret_keys``.
    """
    if values is None:
        full, secret = _runtime_config()
    else:
        full = {(key if ":" in key else f"{PROJECT}:{key}"): value for key, value in values.items()}
        secret = {key if ":" in key else f"{PROJECT}:{key}" for key in secret_keys}
    prefix = f"{PROJECT}:"
    reader = Values({key[len(prefix) :]: value for key, value in full.items() if key.startswith(prefix)}, secret={key[len(prefix) :] for key in secret if key.startswith(prefix)})
    _check_keys(reader, full)
    settings = read_settings(reader, stack=stack or pulumi.get_stack(), secret=secret, full=full)
    if settings is None:
        raise ConfigError(reader.problems)
    return settings
