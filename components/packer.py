"""Pure helpers around Packer: reading the image id from `packer build -machine-readable` output.

(The content hashes that name images are in components/image_sources.py.)
"""

from __future__ import annotations


class PackerOutputError(ValueError):
    """Packer's machine-readable output had no artifact id for the expected build."""


def _unescape(field: str) -> str:
    # Packer's machine-readable format escapes commas and newlines inside a field.
    return field.replace("%!(PACKER_COMMA)", ",").replace("\\n", "\n").replace("\\r", "\r")


def parse_artifact_id(stdout: str, build: str) -> str:
    """The image id from ``packer build -machine-readable`` output.

    Packer prints ``TIMESTAMP,BUILD,artifact,0,id,REGION:ID``; for DigitalOcean
    the id part is the snapshot id, for amazon-ebs one ``REGION:AMI`` per
    region, comma-separated (we return the first region's AMI: the build region).
    """
    for line in stdout.splitlines():
        fields = line.strip().split(",")
        if len(fields) >= 6 and fields[1] == build and fields[2] == "artifact" and fields[4] == "id":
            value = _unescape(",".join(fields[5:]))
            first = value.split(",")[0]
            _, _, image_id = first.rpartition(":")
            if image_id:
                return image_id
    raise PackerOutputError(f"no artifact id for build {build!r} in Packer's output; did the build fail?")
