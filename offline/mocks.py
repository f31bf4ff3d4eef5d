"""Mocks that answer like the real providers: DigitalOcean, AWS and pulumi-command.

Resources are looked up by type token in each cloud's table
(offline/digitalocean_mocks.py, offline/aws_mocks.py); a Command's stdout is
what its program prints (a Packer bake's machine-readable artifact lines, the
health gate's summary); invokes answer like the provider's data sources,
failing with the provider's own wording. Values are deterministic: derived from
the resource's type, name and the inputs that force its replacement, so two runs
of one commit give identical records and a replaced resource gets a new id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

from components.common.patch_level import read_patch_level
from offline import aws_mocks, digitalocean_mocks
from offline.mock_ids import number
from offline.providers import always_replaces


class RealisticMocks(pulumi.runtime.Mocks):
    """Answers for every resource type and invoke the program uses, shaped like the real providers'."""

    def __init__(self, stack: str, snapshots: Mapping[str, str] | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None, aws_region: str = "us-east-1"):
        self.stack = stack
        # The AWS provider's region (aws:region): ARNs, zones and endpoints carry it.
        self.aws_region = aws_region
        # image name -> snapshot id, for the PromotedImage lookup (images "baked by staging").
        self.snapshots = dict(snapshots or {})
        # resource type or invoke token -> output values forced by a test (e.g. the database host of a
        # real local PostgreSQL, or its CA certificate for getDatabaseCa).
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        # (type, name) -> the resource's declared replace_on_changes, set by RecordingMonitor before new_resource.
        self.replace_on_changes: dict[tuple[str, str], list[str]] = {}
        # The patch level the last base bake was given: what the app bake on it records (images/scripts/manifest.sh).
        self.patch_level: str | None = None

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = {k: rpc.unwrap_rpc_secret(v) if rpc.is_rpc_secret(v) else v for k, v in args.inputs.items()}
        typ, name = args.typ, args.name
        key: tuple[str, ...] = (self.stack, typ, name)
        outputs: dict[str, Any] = dict(inputs)
        # A resource the provider or the program (replace_on_changes) must replace gets a new id,
        # as in the cloud; dependents (a health gate waiting for droplet ids) see it change.
        # (Conditional rules, such as a droplet's ipv6 true -> false, need the old value: the mocks leave them out.)
        declared = self.replace_on_changes.get((typ, name), [])
        forcing_keys = set(inputs) if "*" in declared else set(always_replaces(typ)) | {p.split(".")[0].split("[")[0] for p in declared}
        forcing = [f"{p}={json.dumps(inputs.get(p), sort_keys=True)}" for p in sorted(forcing_keys)]
        key = (self.stack, typ, name, *forcing)
        if typ in aws_mocks.RESOURCES:
            resource_id, computed = aws_mocks.RESOURCES[typ](name, inputs, key, self.aws_region)
        elif typ in digitalocean_mocks.RESOURCES:
            resource_id, computed = digitalocean_mocks.RESOURCES[typ](name, inputs, key)
        elif typ == "command:local:Command":
            resource_id, computed = number(*key), {"stdout": self._command_stdout(inputs), "stderr": ""}
        else:
            resource_id, computed = number(*key), {}
        outputs.update(computed)
        outputs.update(self.overrides.get(typ, {}))
        return resource_id, outputs

    def _command_stdout(self, inputs: Mapping[str, Any]) -> str:
        create = str(inputs.get("create", ""))
        environment = inputs.get("environment") or {}
        if " build " in create and "-only=amazon-ebs." in create:
            build = create.split("-only=")[1].split()[0].strip("'")
            image_name = environment.get("PKR_VAR_image_name", "image")
            regions = [environment.get("PKR_VAR_aws_region", self.aws_region), *json.loads(environment.get("PKR_VAR_aws_copy_regions", "[]"))]
            return aws_mocks.packer_machine_readable(build, {region: aws_mocks.ami_id(image_name, region) for region in regions}, image_name) + "\n" + self._manifest_line(build, environment)
        if " build " in create and "-only=" in create:
            build = create.split("-only=")[1].split()[0].strip("'")
            image_name = environment.get("PKR_VAR_image_name", "image")
            region = environment.get("PKR_VAR_region", "nyc3")
            return digitalocean_mocks.packer_machine_readable(build, region, digitalocean_mocks.snapshot_id(image_name), image_name) + "\n" + self._manifest_line(build, environment)
        if "health_gate.py" in create:
            return json.dumps({"healthy": True, "elapsed_seconds": 42.0})
        return ""

    def _manifest_line(self, build: str, environment: Mapping[str, str]) -> str:
        # The app layer records the level its base recorded: the base bake's (registered first: the app builds on its id).
        if environment.get("PKR_VAR_patch_level"):
            self.patch_level = environment["PKR_VAR_patch_level"]
        return manifest_line(build, self.patch_level or read_patch_level(PROJECT_DIR), environment.get("PKR_VAR_image_name", "image"))

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        if args.token == "digitalocean:index/getDropletSnapshot:getDropletSnapshot":
            name = args.args.get("name")
            if name not in self.snapshots:
                raise Exception(f"Error: no snapshot found with name {name}")  # the provider's wording
            region = args.args.get("region", "nyc3")
            return digitalocean_mocks.snapshot(name, self.snapshots[name], region), []
        if args.token == "digitalocean:index/getDatabaseCa:getDatabaseCa":
            cluster_id = args.args.get("clusterId") or args.args.get("cluster_id")
            if not cluster_id:
                raise Exception("Error: cluster_id is required")  # as the provider refuses it
            return {"id": cluster_id, "clusterId": cluster_id, "certificate": digitalocean_mocks.MOCK_DATABASE_CA, **self.overrides.get(args.token, {})}, []
        if args.token == "aws:ec2/getAmi:getAmi":
            names = [value for entry in args.args.get("filters") or [] if entry.get("name") == "name" for value in entry.get("values", [])]
            found = [self.snapshots[name] for name in names if name in self.snapshots]
            if not found:
                raise Exception("reading EC2 AMIs: Your query returned no results. Please change your search criteria and try again.")  # the provider's wording
            return {"id": found[0], "imageId": found[0], "name": names[0], "ownerId": aws_mocks.ACCOUNT, "state": "available", "architecture": "x86_64"}, []
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return aws_mocks.availability_zones(self.aws_region), []
        if args.token == "aws:route53/getZone:getZone":
            return aws_mocks.hosted_zone(str(args.args.get("name", ""))), []
        raise NotImplementedError(f"no mock for invoke {args.token}")


# The checkout the program runs from (offline/ is one of its folders): its patch level is what a bake records.
PROJECT_DIR = Path(__file__).resolve().parents[1]


def manifest_line(build: str, level: str, image_name: str) -> str:
    """The line images/scripts/manifest.sh prints in a bake, as Packer carries it, with a digest that
    follows the image's name (a new image, a new manifest)."""
    digest = hashlib.sha256(image_name.encode()).hexdigest()
    return f"1700000000,,ui,message,    {build}: image-manifest: patch-level={level} sha256={digest} packages=312"
