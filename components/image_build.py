"""ImageBuild: bake one image layer with Packer and hand on its id.

Creates one `pulumi_command.local.Command` that runs
`packer init` + `packer build -machine-readable -only=<build>` on a template
folder under `images/`. Its triggers are the content hash of the image's
sources and the ids it builds on, so an unchanged `pulumi up` bakes nothing
and any change to the sources bakes a new, differently named snapshot.

Snapshots are never deleted by this component (the Command has no `delete`):
the previous image is what a rollback points at.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_command as command

from components.packer import parse_artifact_id


@dataclass(frozen=True, kw_only=True)
class ImageBuildArgs:
    template_dir: str
    """Packer template folder, relative to the project directory (e.g. images/app)."""
    build: str
    """Packer source to run, `<type>.<name>` (e.g. digitalocean.app)."""
    image_name: str
    """Deterministic snapshot name; carries the content hash (and the app version for app images)."""
    source_hash: str
    """Content hash of everything the image is made from (see components.packer.tree_hash)."""
    variables: Mapping[str, pulumi.Input[str]]
    """Packer variables, passed as PKR_VAR_<name> so no value is ever shell-quoted."""
    packer: str = "packer"
    extra_triggers: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    """Ids this layer builds on (the base image id for the app layer)."""


def packer_command(packer: str, build: str, template_dir: str) -> str:
    """The shell command the Command runs; `packer init` installs the plugins pinned in plugins.pkr.hcl."""
    quoted_dir = shlex.quote(template_dir)
    return (
        f"{shlex.quote(packer)} init {quoted_dir} && "
        f"{shlex.quote(packer)} build -machine-readable -color=false -only={shlex.quote(build)} {quoted_dir}"
    )


def packer_value(value: object) -> str:
    """A Packer variable value as PKR_VAR_ expects it: strings raw, lists and numbers as HCL/JSON."""
    return value if isinstance(value, str) else json.dumps(value)


class ImageBuild(pulumi.ComponentResource):
    image_id: pulumi.Output[str]
    image_name: pulumi.Output[str]
    source_hash: pulumi.Output[str]

    def __init__(self, name: str, args: ImageBuildArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:image:ImageBuild", name, None, opts)

        environment = {
            f"PKR_VAR_{key}": pulumi.Output.from_input(value).apply(packer_value)
            for key, value in sorted({**args.variables, "image_name": args.image_name}.items())
        }
        bake = command.local.Command(
            f"{name}-packer",
            create=packer_command(args.packer, args.build, args.template_dir),
            # No `dir`: Pulumi runs commands from the project directory, and an absolute path
            # in state would differ between checkouts and re-run Packer on every machine.
            environment=environment,
            # A new content hash or a new base id is a new image: replace (re-run Packer).
            triggers=[args.source_hash, args.image_name, *args.extra_triggers],
            # Packer's own log goes to the console; stdout is kept to read the artifact id.
            logging=command.local.Logging.STDOUT_AND_STDERR,
            opts=pulumi.ResourceOptions(
                parent=self,
                # A bake boots a builder droplet, provisions and snapshots it (and copies
                # the snapshot to other regions): far longer than the default timeout.
                custom_timeouts=pulumi.CustomTimeouts(create="60m", update="60m"),
            ),
        )

        self.image_id = bake.stdout.apply(lambda stdout: parse_artifact_id(stdout, args.build))
        self.image_name = pulumi.Output.from_input(args.image_name)
        self.source_hash = pulumi.Output.from_input(args.source_hash)
        self.register_outputs({"image_id": self.image_id, "image_name": self.image_name, "source_hash": self.source_hash})
