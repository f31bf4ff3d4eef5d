"""Pure helpers around Packer: content hashes of image sources, and parsing its output.

The content hash is what makes a bake reproducible and skippable: an unchanged
`images/` tree gives the same hash, the same image name and the same
`local.Command` triggers, so `pulumi up` bakes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

# Files that never change what an image contains.
_IGNORED_PARTS = {"__pycache__", ".cache", "packer_cache", "output", ".pytest_cache"}
_IGNORED_SUFFIXES = {".pyc", ".qcow2", ".img", ".iso", ".log"}


def tree_hash(roots: Iterable[Path], *, extra: Iterable[str] = (), length: int = 12) -> str:
    """A hex digest of every file under ``roots`` (relative path + bytes) and of ``extra`` strings.

    Paths are hashed relative to each root's parent, sorted, so the hash is the
    same on every machine and checkout location.
    """
    digest = hashlib.sha256()
    for root in sorted(Path(r) for r in roots):
        if not root.is_dir():
            raise FileNotFoundError(f"image source folder {root} does not exist")
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root.parent)
            if _IGNORED_PARTS.intersection(relative.parts) or path.suffix in _IGNORED_SUFFIXES:
                continue
            digest.update(relative.as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    for item in extra:
        digest.update(b"extra\0" + item.encode() + b"\0")
    return digest.hexdigest()[:length]


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
