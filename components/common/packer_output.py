"""Pure helpers around Packer: reading the image id and the image's package manifest line from `packer build -machine-readable` output.

(The content hashes that name images are in components/common/image_sources.py.)
"""

from __future__ import annotations

import re
from typing import NamedTuple


class PackerOutputError(ValueError):
    """Packer's machine-readable output had no artifact id for the expected build."""


def _unescape(field: str) -> str:
    # Packer's machine-readable format escapes commas and newlines inside a field.
    return field.replace("%!(PACKER_COMMA)", ",").replace("\\n", "\n").replace("\\r", "\r")


def parse_artifact_id(stdout: str, build: str, *, region: str | None = None) -> str:
    """The image id from ``packer build -machine-readable`` output, for ``build`` (``<type>.<name>``).

    Packer prints ``TIMESTAMP,BUILD,artifact,N,id,ID``; what ID holds depends on the builder:

    - digitalocean: ``REGIONS:SNAPSHOT_ID``, REGIONS being every region the snapshot
      is in, comma-separated (``nyc3,ams3:12345``): the id is what follows the last ``:``;
    - amazon-ebs: one ``REGION:AMI`` per region, sorted by region, comma-separated
      (``eu-west-1:ami-2,us-east-1:ami-1``): the build ``region``'s AMI is returned,
      so ``region`` is required;
    - others (qemu, null): the id as printed, after any ``:``.
    """
    builder_type = build.split(".", 1)[0]
    if builder_type == "amazon-ebs" and not region:
        raise ValueError("an amazon-ebs artifact lists one AMI per region: pass the build region")
    for line in stdout.splitlines():
        fields = line.strip().split(",")
        if len(fields) >= 6 and fields[1] == build and fields[2] == "artifact" and fields[4] == "id":
            value = _unescape(",".join(fields[5:]))
            if builder_type == "amazon-ebs":
                amis = dict(part.split(":", 1) for part in value.split(",") if ":" in part)
                if region not in amis:
                    raise PackerOutputError(f"build {build!r} made no AMI in its build region {region}: {value}")
                return amis[region]
            _, _, image_id = value.rpartition(":")
            if image_id:
                return image_id
    raise PackerOutputError(f"no artifact id for build {build!r} in Packer's output; did the build fail?")


class ImageManifest(NamedTuple):
    """What ``images/scripts/manifest.sh`` recorded in the image, as its line in Packer's log says."""

    patch_level: str
    sha256: str
    """The digest of the image's /usr/share/immutable-web/packages.manifest."""
    packages: int


_MANIFEST_LINE = re.compile(r"\s*(?P<build>\S+): image-manifest: patch-level=(?P<level>[0-9]{8}T[0-9]{6}Z) sha256=(?P<sha256>[0-9a-f]{64}) packages=(?P<packages>[0-9]+)")


def parse_image_manifest(stdout: str, build: str) -> ImageManifest:
    """The manifest line ``build``'s provisioner printed, from ``packer build -machine-readable`` output.

    Packer carries a provisioner's output as ``TIMESTAMP,,ui,message,    BUILD: TEXT``; the last
    such line of ``build`` counts (a layer's manifest runs once, after its last package change).
    """
    found: ImageManifest | None = None
    for line in stdout.splitlines():
        fields = line.strip().split(",", 4)
        if len(fields) == 5 and fields[2] == "ui" and fields[3] == "message":
            match = _MANIFEST_LINE.fullmatch(_unescape(fields[4]).rstrip())
            if match and match["build"] == build:
                found = ImageManifest(match["level"], match["sha256"], int(match["packages"]))
    if found is None:
        raise PackerOutputError(f"no image-manifest line for build {build!r} in Packer's output (images/scripts/manifest.sh prints it); did the build run it?")
    return found
