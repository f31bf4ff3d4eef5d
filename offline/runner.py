"""Run the real `__main__.py` under the mocks for a stack, and the user-data the VM tests boot with."""

from __future__ import annotations

import base64
import runpy
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import settings as runtime_settings

from offline import aws_mocks, digitalocean_mocks
from offline.mocks import RealisticMocks
from offline.recording import RecordingMonitor, StackRun, plain
from offline.stack_config import PROJECT_DIR, project_file, stack_config

MAIN = PROJECT_DIR / "__main__.py"

_UNSET = object()


def run_program(
    stack: str,
    *,
    config_overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    snapshots: Mapping[str, str] | object | None = _UNSET,
    mock_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    main: Path = MAIN,
) -> StackRun:
    """Run ``__main__.py`` for ``stack`` under mocks; return everything it registered and exported.

    ``snapshots`` maps image names to ids for promote-mode lookups; by default
    the image a promoting stack pins "exists" (as if staging had baked it).
    Pass ``{}`` to model an image that was never baked.
    """
    config, secret_keys = stack_config(stack, config_overrides, secrets=secrets)
    if snapshots is _UNSET:
        snapshots = _pinned_snapshot(config)
    mocks = RealisticMocks(stack, snapshots=snapshots, overrides=mock_outputs, aws_region=config.get("aws:region", "us-east-1"))  # type: ignore[arg-type]
    return run_under_mocks(lambda: runpy.run_path(str(main), run_name="__main__"), stack=stack, mocks=mocks, config=config, secret_keys=secret_keys)


def run_under_mocks(
    body: Callable[[], object],
    *,
    stack: str = "test",
    mocks: RealisticMocks | None = None,
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
) -> StackRun:
    """Run ``body`` (a program, or a test that builds one component) under the mocks and record it.

    Stack outputs are whatever ``body`` exported with ``pulumi.export``.
    """
    mocks = mocks or RealisticMocks(stack)
    monitor = RecordingMonitor(mocks)
    runtime_settings.ROOT.set(None)  # a fresh Stack resource for this run
    pulumi.runtime.set_mocks(mocks, project=project_file()["name"], stack=stack, preview=False, monitor=monitor)
    runtime_config.set_all_config(dict(config or {}), list(secret_keys))

    exported: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    async def collect(outputs: Mapping[str, Any]) -> None:
        for key, value in outputs.items():
            output = pulumi.Output.from_input(value)
            exported[key] = plain(await output.future())
            if await output.is_secret():
                secret_outputs.add(key)

    @runtime_mocks.test
    def program():
        body()
        root = runtime_settings.get_root_resource()
        return collect(dict(root.outputs))  # type: ignore[union-attr]

    try:
        program()
    except Exception as error:
        # Lets a test prove a bad config stopped the program before any resource was registered.
        error.registered_resources = list(monitor.records)  # type: ignore[attr-defined]
        raise
    # Registration order depends on thread scheduling; URN order does not.
    resources = sorted(monitor.records, key=lambda r: r.urn)
    return StackRun(stack=stack, config=dict(config or {}), resources=resources, outputs=exported, secret_outputs=secret_outputs)


def _pinned_snapshot(config: Mapping[str, str]) -> dict[str, str]:
    """The image a promoting stack's config names, as though the baking stack had made it."""
    from components.common.naming import app_image_name

    namespace = project_file()["name"]
    if config.get(f"{namespace}:imageMode") != "promote":
        return {}
    name = app_image_name(
        config.get(f"{namespace}:appName", "hello"),
        config.get(f"{namespace}:imageStack", ""),
        config.get(f"{namespace}:appVersion", ""),
        config.get(f"{namespace}:imageSourceHash", ""),
    )
    if config.get(f"{namespace}:cloud") == "aws":
        return {name: aws_mocks.ami_id(name, config.get("aws:region", "us-east-1"))}
    return {name: digitalocean_mocks.snapshot_id(name)}


def staging_user_data(
    *,
    database_host: str,
    database_port: int,
    database_user: str,
    database_password: str,
    database_ca: str,
    database_name: str | None = None,
    stack: str = "staging",
    config_overrides: Mapping[str, Any] | None = None,
    admin_user: str | None = None,
    admin_password: str | None = None,
) -> str:
    """The user-data the program renders for the stack's first droplet, with the database where a test puts it.

    ``admin_user``/``admin_password``: the cluster's admin (doadmin), which owns the database; by default
    the serving user stands in for it.

    Used by the VM boot test: the database outputs point at a real local
    PostgreSQL, and ``database_ca`` (PEM) is the CA that signed its certificate,
    as the cluster's `getDatabaseCa` would return it; everything else is exactly
    what the program would send.
    """
    overrides: dict[str, dict[str, Any]] = {
        # The test's database owner stands in for the cluster's doadmin: the migrations run as it.
        "digitalocean:index/databaseCluster:DatabaseCluster": {
            "privateHost": database_host,
            "port": database_port,
            "user": admin_user or database_user,
            "password": admin_password or database_password,
        },
        "digitalocean:index/databaseUser:DatabaseUser": {"name": database_user, "password": database_password},
        "digitalocean:index/getDatabaseCa:getDatabaseCa": {"certificate": database_ca},
    }
    if database_name is not None:
        overrides["digitalocean:index/databaseDb:DatabaseDb"] = {"name": database_name}
    run = run_program(stack, config_overrides=config_overrides, mock_outputs=overrides)
    droplets = run.of_type("digitalocean:index/droplet:Droplet")
    return droplets[0].inputs["userData"]


def aws_staging_user_data(
    *,
    database_host: str,
    database_port: int,
    database_user: str,
    database_name: str,
    stack: str = "aws-staging",
    config_overrides: Mapping[str, Any] | None = None,
) -> str:
    """The user-data the program puts in the AWS fleet's launch template (decoded), with the database where a test puts it.

    Used by the AWS VM boot test: the RDS instance's outputs point at a real local
    PostgreSQL (``database_user`` is RDS's master user, named in migration.env; the app serves
    as the role the image's migration makes, ``<app>_serving``); everything else is exactly what the program would send, which on AWS
    holds no secret (the SSM parameters' names and versions, the region, the fleet
    generation). What production has and a local boot lacks (AWS's endpoints, RDS's CA)
    is the test's to add, in the open.
    """
    overrides = {"aws:rds/instance:Instance": {"address": database_host, "port": database_port, "username": database_user, "dbName": database_name}}
    run = run_program(stack, config_overrides=config_overrides, mock_outputs=overrides)
    (template,) = run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    return base64.b64decode(template.inputs["userData"]).decode()
