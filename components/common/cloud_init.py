"""Render the cloud-init user-data that every fleet server reads on its first boot.

This is the one mutable input an immutable server gets: the image holds the
code and the unit, and user-data writes the *configuration* (database
credentials, environment) into the app's environment file, mode 0600, and
the database cluster's CA certificate, before the app starts. It writes
nothing else: no packages, no commands, nothing that could drift from what
the image was tested with.

The contract with the image (see ``images/webapp/webapp.service``):

* ``/etc/webapp/app.env`` is written here; the unit reads it with
  ``EnvironmentFile=`` and is ordered after ``cloud-init-network.service``;
* ``/etc/webapp/migration.env`` is written here too, mode 0600, when the serving role may not
  run DDL (both clouds): the schema owner's credentials (DigitalOcean: the cluster's admin and its
  password; AWS: RDS's master user and the SSM parameter holding its password), read only by
  ``webapp-migrate.service``, a one-shot that migrates before the app serves; the app's unit
  never loads it, so no serving process holds an admin credential;
* ``/etc/webapp/database-ca.crt`` is written here (public, mode 0644): the app
  verifies the database's certificate and host name against it
  (``DATABASE_SSLMODE=verify-full``, ``DATABASE_SSLROOTCERT``);
* ``/etc/webapp/image.env`` is baked into the image (version, image name) and
  never written at boot, so ``/healthz`` reports what the image really is;
* when the stack names a log destination, the destination's CA (public) and
  the rsyslog rule that ships the journal there (``components.common.log_shipping``,
  through cloud-init's ``rsyslog`` module, which restarts rsyslog). The rule
  holds no credential: the receiver is authenticated by its certificate, and the
  key the server presents for RELP's TLS is made on the server at its first boot
  (the base image's ``rsyslog-sender-key.service``), never carried here.

Everything here is a pure function so it can be tested without Pulumi.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import yaml

from components.common.log_shipping import RSYSLOG_CONFIG_FILENAME, LogDestination, render_rsyslog_config

ENV_FILE_PATH = "/etc/webapp/app.env"
# The schema owner's credentials, for webapp-migrate.service alone (images/webapp/webapp-migrate.service).
MIGRATION_ENV_FILE_PATH = "/etc/webapp/migration.env"
DATABASE_CA_PATH = "/etc/webapp/database-ca.crt"

# Names the program itself sets; a stack's `env` may not override them.
RESERVED_ENV_NAMES = frozenset(
    {
        "APP_ENV",
        "APP_PORT",
        "APP_DRAIN_SECONDS",
        "APP_SECRET",
        # The secret before a rotation: sessions made with it stay valid (images/webapp/sessions.py).
        "APP_SECRET_PREVIOUS",
        "APP_VERSION",
        "IMAGE_NAME",
        "DATABASE_HOST",
        "DATABASE_PORT",
        "DATABASE_NAME",
        "DATABASE_USER",
        "DATABASE_PASSWORD",
        "DATABASE_SSLMODE",
        "DATABASE_SSLROOTCERT",
        # The role that owns the app's schema and runs its migrations, where the serving user may not (DigitalOcean).
        "DATABASE_MIGRATION_USER",
        "DATABASE_MIGRATION_PASSWORD",
        # AWS: where the fetch finds the owner's password, and that the migration makes the serving role.
        "DATABASE_MIGRATION_PASSWORD_PARAMETER",
        "DATABASE_MIGRATION_PASSWORD_VERSION",
        "DATABASE_MIGRATION_MANAGES_USER",
        # AWS: where the boot-time fetch finds the password (images/webapp/fetch_secrets.py), and which fleet generation this is.
        "DATABASE_PASSWORD_PARAMETER",
        "DATABASE_PASSWORD_VERSION",
        "APP_SECRET_PARAMETER",
        "APP_SECRET_VERSION",
        "APP_SECRET_PREVIOUS_PARAMETER",
        "APP_SECRET_PREVIOUS_VERSION",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SSM",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "APP_GENERATION",
    }
)

# Where the AWS image keeps RDS's CA bundle (baked by the amazon-ebs build: public, long-lived, per region).
RDS_CA_BUNDLE_PATH = "/etc/webapp/rds-ca-bundle.pem"

ENV_NAME_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def _quote_env_value(value: str) -> str:
    """Quote a value for a systemd ``EnvironmentFile=`` line.

    systemd accepts double-quoted values with backslash escapes; no variable
    expansion happens, so only the quote and the backslash need escaping.
    Newlines are refused earlier (config validation), never escaped here.
    """
    if "\n" in value or "\r" in value:
        raise ValueError("environment values must be single-line")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_env_file(env: Mapping[str, str]) -> str:
    """The body of ``/etc/webapp/app.env``: one ``NAME="value"`` a line, sorted."""
    lines = []
    for name in sorted(env):
        if not ENV_NAME_PATTERN.fullmatch(name):
            raise ValueError(f"invalid environment variable name {name!r}")
        lines.append(f"{name}={_quote_env_value(str(env[name]))}")
    return "\n".join(lines) + "\n"


def app_environment(
    *,
    app_env: str,
    app_port: int,
    database_host: str,
    database_port: int,
    database_name: str,
    database_user: str,
    database_password: str,
    app_secret: str,
    drain_seconds: int,
    extra_env: Mapping[str, str],
    database_ca_path: str = DATABASE_CA_PATH,
    app_secret_previous: str | None = None,
) -> dict[str, str]:
    """Everything the app reads at run time, as one flat mapping.

    The database connection always verifies the server (``sslmode=verify-full``
    against the cluster's own CA, written next to the env file): ``require``
    would encrypt to whoever answers at the database's address, and a server
    that silently fell back to plain text would be a drift we could not see.

    ``app_secret_previous``: the secret ``app_secret`` replaced (a rotation's grace period), as
    ``APP_SECRET_PREVIOUS``; without it, no such line.
    """
    previous = {} if app_secret_previous is None else {"APP_SECRET_PREVIOUS": app_secret_previous}
    return _environment(
        extra_env,
        {
            **previous,
            "APP_ENV": app_env,
            "APP_PORT": str(app_port),
            # How long the app keeps serving after SIGTERM while the load balancer notices (components.common.serving).
            "APP_DRAIN_SECONDS": str(drain_seconds),
            "APP_SECRET": app_secret,
            "DATABASE_HOST": database_host,
            "DATABASE_PORT": str(database_port),
            "DATABASE_NAME": database_name,
            "DATABASE_USER": database_user,
            "DATABASE_PASSWORD": database_password,
            "DATABASE_SSLMODE": "verify-full",
            "DATABASE_SSLROOTCERT": database_ca_path,
        },
    )


def migration_environment(*, user: str, password: str) -> dict[str, str]:
    """``migration.env``: the role that owns the app's schema and runs its migrations (images/webapp/schema.py),
    where the serving user may not run DDL (DigitalOcean: the database is ``doadmin``'s).

    A file of its own, read by webapp-migrate.service only: the app's unit never loads it.
    """
    return {"DATABASE_MIGRATION_USER": user, "DATABASE_MIGRATION_PASSWORD": password}


def aws_migration_environment(*, user: str, password_parameter: str, password_version: int) -> dict[str, str]:
    """AWS's ``migration.env``: RDS's master user, which owns the app's schema and runs its migrations, and the SSM
    parameter holding its password (user-data holds no secret on AWS; webapp-secrets.service fetches it into a file of
    its own), and ``DATABASE_MIGRATION_MANAGES_USER``: RDS makes no serving role, so the migration makes it
    (images/webapp/schema.py: provision_serving_role) with the password the app's own parameter holds.
    """
    return {
        "DATABASE_MIGRATION_USER": user,
        "DATABASE_MIGRATION_PASSWORD_PARAMETER": password_parameter,
        "DATABASE_MIGRATION_PASSWORD_VERSION": str(password_version),
        "DATABASE_MIGRATION_MANAGES_USER": "true",
    }


def aws_app_environment(
    *,
    app_env: str,
    app_port: int,
    database_host: str,
    database_port: int,
    database_name: str,
    database_user: str,
    database_password_parameter: str,
    database_password_version: int,
    app_secret_parameter: str,
    app_secret_version: int,
    region: str,
    drain_seconds: int,
    extra_env: Mapping[str, str],
    app_secret_previous_parameter: str | None = None,
    app_secret_previous_version: int | None = None,
) -> dict[str, str]:
    """The AWS fleet's environment: as ``app_environment``, but no secret in it.

    Launch-template user-data is readable by anyone allowed `ec2:DescribeLaunchTemplateVersions`,
    so it names the SSM parameters holding the password and the app secret
    (and their versions: a new value is a new generation of the fleet) and the
    image fetches the values at boot, before the app starts
    (images/webapp/fetch_secrets.py). The database's CA is RDS's bundle, baked into the AMI.
    The previous app secret (a rotation's grace period), when there is one, is a parameter of its
    own, named the same way: both or neither of its name and version.
    """
    if (app_secret_previous_parameter is None) != (app_secret_previous_version is None):
        raise ValueError("the previous app secret's parameter needs both a name and a version, or neither")
    previous = {} if app_secret_previous_parameter is None else {"APP_SECRET_PREVIOUS_PARAMETER": app_secret_previous_parameter, "APP_SECRET_PREVIOUS_VERSION": str(app_secret_previous_version)}
    return _environment(
        extra_env,
        {
            **previous,
            "APP_ENV": app_env,
            "APP_PORT": str(app_port),
            "APP_DRAIN_SECONDS": str(drain_seconds),
            "APP_SECRET_PARAMETER": app_secret_parameter,
            "APP_SECRET_VERSION": str(app_secret_version),
            "DATABASE_HOST": database_host,
            "DATABASE_PORT": str(database_port),
            "DATABASE_NAME": database_name,
            "DATABASE_USER": database_user,
            "DATABASE_PASSWORD_PARAMETER": database_password_parameter,
            "DATABASE_PASSWORD_VERSION": str(database_password_version),
            "AWS_REGION": region,
            "DATABASE_SSLMODE": "verify-full",
            "DATABASE_SSLROOTCERT": RDS_CA_BUNDLE_PATH,
        },
    )


def _environment(extra_env: Mapping[str, str], program: Mapping[str, str]) -> dict[str, str]:
    """The stack's `env` under the program's own names (which it may not set)."""
    clash = RESERVED_ENV_NAMES.intersection(extra_env)
    if clash:
        raise ValueError(f"env may not set reserved names: {', '.join(sorted(clash))}")
    env = dict(extra_env)
    env.update(program)
    return env


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as YAML literal blocks, so the file reads as it will land on disk."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _represent_str)


# One or more PEM certificates (a CA bundle), nothing else: anything else here would be a wiring mistake.
PEM_CERTIFICATES = re.compile(r"\A(?:-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n+)+\Z")


def _pem(certificates: str, what: str) -> str:
    pem = certificates.replace("\r\n", "\n").strip() + "\n"
    if not PEM_CERTIFICATES.match(pem):
        raise ValueError(f"the {what} must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)")
    return pem


def render_user_data(env: Mapping[str, str], *, database_ca: str | None, log_destination: LogDestination | None = None, migration_env: Mapping[str, str] | None = None) -> str:
    """A ``#cloud-config`` document that writes the database's CA certificate (unless the image has it), the app's environment file,
    the migration role's file (``migration_env``, when given) and, with a log destination, the log shipping rule; nothing else."""
    files = []
    if database_ca is not None:
        ca = _pem(database_ca, "database CA")
        # Before the env file: once the app can start, its CA is there.
        # Public: the app's sandboxed user reads it (the env file stays root's).
        files.append({"path": DATABASE_CA_PATH, "owner": "root:root", "permissions": "0644", "content": ca})
    if log_destination is not None and log_destination.ca is not None:
        # write_files runs before the rsyslog module (cloud-init's module order): the CA is there when rsyslog restarts.
        files.append({"path": log_destination.ca_path, "owner": "root:root", "permissions": "0644", "content": _pem(log_destination.ca, "log destination's CA")})
    document: dict[str, object] = {
        "write_files": [
            *files,
            {
                "path": ENV_FILE_PATH,
                "owner": "root:root",
                "permissions": "0600",
                "content": render_env_file(env),
            },
            *([] if migration_env is None else [{"path": MIGRATION_ENV_FILE_PATH, "owner": "root:root", "permissions": "0600", "content": render_env_file(migration_env)}]),
        ],
    }
    if log_destination is not None:
        # cloud-init's own module: writes the rule under /etc/rsyslog.d and restarts rsyslog (no runcmd).
        document["rsyslog"] = {"configs": [{"filename": RSYSLOG_CONFIG_FILENAME, "content": render_rsyslog_config(log_destination)}]}
    return "#cloud-config\n" + yaml.dump(document, Dumper=_LiteralDumper, sort_keys=False, default_flow_style=False, width=4096)
