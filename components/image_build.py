"""ImageBuild: bake one image layer with Packer and hand on its id.

Creates a `pulumi_command.local.Command` (`<name>-packer`) that runs
`packer init` + `packer build -machine-readable -only=<build>` on a template
folder under `images/`. Packer runs only when its triggers change: the content
hash of the image's sources, the image name and the ids it builds on. So an
unchanged `pulumi up` bakes nothing, any change to the sources bakes a new,
differently named snapshot, and nothing ever re-bakes under a name already
used (any other change, such as the region list, runs the Command's `update`,
which hands on the image id it already has).

When the variables carry `snapshot_regions` (the DigitalOcean templates' list
of regions the snapshot must be in), a second Command (`<name>-copy`), keyed on
the image id and that list, runs `tools/copy_image.py` to transfer the snapshot
to any listed region it is not in yet: a new copy region copies, it never re-bakes.

Each bake's stdout also carries the line ``images/scripts/manifest.sh`` prints: the patch
level the image's packages were taken at and the digest of its package manifest, handed on
as outputs.

Snapshots are never deleted by this component (neither Command has a `delete`):
the previous image is what a rollback points at.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_command as command

from components.common.packer_output import parse_artifact_id, parse_image_manifest


@dataclass(frozen=True, kw_only=True)
class ImageBuildArgs:
    template_dir: str
    """Packer template folder, relative to the project directory (e.g. images/app)."""
    build: str
    """Packer source to run, `<type>.<name>` (e.g. digitalocean.app)."""
    image_name: str
    """Deterministic snapshot name; carries the content hash (and the app version for app images)."""
    source_hash: str
    """Content hash of everything the image is made from (see components.common.image_sources.source_hash)."""
    variables: Mapping[str, pulumi.Input[str] | Sequence[str]]
    """Packer variables, passed as PKR_VAR_<name> so no value is ever shell-quoted."""
    packer: str = "packer"
    extra_triggers: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    """Ids this layer builds on (the base image id for the app layer)."""
    python: str = "python3"
    """Runs tools/copy_image.py (standard library only)."""


# Run with bash -o pipefail: a failed `packer build` fails the Command although its output goes through a pipe.
PACKER_INTERPRETER = ["/bin/bash", "-o", "pipefail", "-c"]

# The bake's `update`: hand on the previous run's artifact lines (pulumi-command puts them in
# PULUMI_COMMAND_STDOUT), so a change that keeps the image's name re-runs nothing.
REUSE_PREVIOUS_BAKE = 'printf "%s\\n" "$PULUMI_COMMAND_STDOUT"'


def packer_command(packer: str, build: str, template_dir: str) -> str:
    """The shell command the Command runs; `packer init` installs the plugins pinned in plugins.pkr.hcl.

    Packer's whole log goes to stderr (the console); stdout, kept in the state and read
    for the image id and its package manifest, holds only the artifact lines and the
    manifest line (images/scripts/manifest.sh): a few hundred bytes, not the log.
    """
    quoted_dir = shlex.quote(template_dir)
    build_command = f"{shlex.quote(packer)} build -machine-readable -color=false -only={shlex.quote(build)} {quoted_dir}"
    return f"{shlex.quote(packer)} init {quoted_dir} && {build_command} | tee /dev/stderr | grep -F -e ,artifact, -e ': image-manifest: '"


def package_manifest_file(image_name: str) -> str:
    """Where a bake downloads the image's package manifest, relative to the project directory."""
    return f"{image_name}.packages"


def copy_command(python: str, image_id: str, regions: Sequence[str]) -> str:
    """The shell command that keeps the snapshot in ``regions`` (tools/copy_image.py)."""
    words = [python, "tools/copy_image.py", "--image", image_id, "--regions", ",".join(regions)]
    return " ".join(shlex.quote(word) for word in words)


def packer_value(value: object) -> str:
    """A Packer variable value as PKR_VAR_ expects it: strings raw, lists and numbers as HCL/JSON."""
    return value if isinstance(value, str) else json.dumps(value)


class ImageBuild(pulumi.ComponentResource):
    image_id: pulumi.Output[str]
    image_name: pulumi.Output[str]
    source_hash: pulumi.Output[str]
    patch_level: pulumi.Output[str]
    """The patch level the image's packages were taken at, as the image recorded it."""
    package_manifest_sha256: pulumi.Output[str]
    """The digest of the image's package manifest (/usr/share/immutable-web/packages.manifest)."""

    def __init__(self, name: str, args: ImageBuildArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:image:ImageBuild", name, None, opts)

        # The image's package manifest lands in the project directory as <image name>.packages (gitignored):
        # what a deploy keeps (.github/workflows/deploy-staging.yml) and `scripts/patch-level diff` compares.
        variables = {**args.variables, "image_name": args.image_name, "package_manifest_path": package_manifest_file(args.image_name)}
        environment = {f"PKR_VAR_{key}": pulumi.Output.from_input(value).apply(packer_value) for key, value in sorted(variables.items())}
        bake = command.local.Command(
            f"{name}-packer",
            create=packer_command(args.packer, args.build, args.template_dir),
            # Without an `update`, pulumi-command re-runs `create` when any input changes (a region
            # list in `environment`): a re-bake under the same name, which prod, looking the image up
            # by name, would take though staging never tested it. Only the triggers re-run Packer.
            update=REUSE_PREVIOUS_BAKE,
            interpreter=PACKER_INTERPRETER,
            # No `dir`: Pulumi runs commands from the project directory, and an absolute path
            # in state would differ between checkouts and re-run Packer on every machine.
            environment=environment,
            # A new content hash or a new base id is a new image: replace (re-run Packer).
            triggers=[args.source_hash, args.image_name, *args.extra_triggers],
            # Packer's own log goes to the console; stdout (the artifact lines) is kept to read the id.
            logging=command.local.Logging.STDOUT_AND_STDERR,
            opts=pulumi.ResourceOptions(
                parent=self,
                # A bake boots a builder droplet, provisions and snapshots it (and copies
                # the snapshot to other regions): far longer than the default timeout.
                custom_timeouts=pulumi.CustomTimeouts(create="60m", update="60m"),
            ),
        )

        # An amazon-ebs artifact lists one AMI per region: the build region's is the image.
        build_region = args.variables.get("aws_region")
        self.image_id = pulumi.Output.all(bake.stdout, build_region).apply(lambda values: parse_artifact_id(values[0], args.build, region=values[1]))
        manifest = bake.stdout.apply(lambda stdout: parse_image_manifest(stdout, args.build))
        self.patch_level = manifest.apply(lambda recorded: recorded.patch_level)
        self.package_manifest_sha256 = manifest.apply(lambda recorded: recorded.sha256)
        if "snapshot_regions" in args.variables:
            regions = pulumi.Output.from_input(args.variables["snapshot_regions"])
            command.local.Command(
                f"{name}-copy",
                create=pulumi.Output.all(self.image_id, regions).apply(lambda values: copy_command(args.python, values[0], values[1])),
                # Runs from the project directory (see above). A new image or a new region list copies again.
                triggers=[self.image_id, regions],
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # A transfer copies a whole snapshot between data centres: minutes per region.
                    custom_timeouts=pulumi.CustomTimeouts(create="60m"),
                ),
            )
        self.image_name = pulumi.Output.from_input(args.image_name)
        self.source_hash = pulumi.Output.from_input(args.source_hash)
        self.register_outputs(
            {"image_id": self.image_id, "image_name": self.image_name, "source_hash": self.source_hash, "patch_level": self.patch_level, "package_manifest_sha256": self.package_manifest_sha256}
        )
