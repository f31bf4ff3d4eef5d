"""What each image layer is made from, and the content hashes that name its images.

`LAYER_SOURCES` is the one list of the files under `images/` each layer's
Packer template uses: its own folder, the files of images/common it links
(the shared sources, variables and plugin pins) and the shared files its
provisioners name (`tests/components/common/test_image_sources.py` checks the
list against the templates). `image_source_hashes` turns it into the two hashes the image
names carry; the Pulumi program (`__main__.py`) and the local bake
(`images/local/bake.py`) both call it, so the local image is named exactly as
the staging stack names its snapshot.

Only what git tracks is hashed, as it is on disk: a stray `.DS_Store` or a
`packer-manifest.json` left by a bake changes nothing, and a clean export of a
commit hashes the same as its checkout. Outside a git checkout (a source
tarball) every file under the layer's paths is hashed except `JUNK_NAMES` and
`JUNK_SUFFIXES`.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pulumi

# Paths relative to the project directory: a folder stands for every file in it.
# The app layer builds on the base, so its hash also covers the base's (through the base's name).
# A layer's folder links images/common's files; a link is hashed as the file it points to, and
# the files are listed too, so a link whose target is gone is an error, not a file skipped.
SHARED_TEMPLATES = ("images/common/plugins.pkr.hcl", "images/common/sources.pkr.hcl", "images/common/variables.pkr.hcl")
LAYER_SOURCES: Mapping[str, tuple[str, ...]] = {
    # images/base holds the patch level (images/base/patch-level, components.common.patch_level).
    "base": ("images/base", *SHARED_TEMPLATES, "images/scripts/snapshot-sources.sh", "images/scripts/base.sh", "images/scripts/manifest.sh", "images/scripts/cleanup.sh"),
    "app": ("images/app", *SHARED_TEMPLATES, "images/scripts/app.sh", "images/scripts/database-ca.sh", "images/scripts/manifest.sh", "images/scripts/cleanup.sh", "images/webapp"),
}

# Outside a git checkout only: files that never change what an image contains.
JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "packer-manifest.json", "__pycache__", ".pytest_cache", ".cache", "packer_cache"})
JUNK_SUFFIXES = frozenset({".pyc", ".qcow2", ".img", ".iso", ".log", ".swp", "~"})


class ImageSourceHashes(NamedTuple):
    base: str
    app: str


class ImageSourceError(pulumi.RunError):
    """The image sources could not be listed (a layer's file is missing or not tracked, git failed).

    A ``pulumi.RunError``: the CLI prints the message alone, with no traceback.
    """


def image_source_hashes(project_dir: Path, *, base_image: str, app_name: str) -> ImageSourceHashes:
    """The (base, app) content hashes: the base's sources and stock image; the app's sources, the base's name and the app's name."""
    base = source_hash(project_dir, LAYER_SOURCES["base"], extra=[base_image])
    # The base by its content (not its name, which names the baking stack): one sources, one hash, in every stack.
    app = source_hash(project_dir, LAYER_SOURCES["app"], extra=[f"base:{base}", app_name])
    return ImageSourceHashes(base, app)


def source_hash(project_dir: Path, paths: Sequence[str], *, extra: Iterable[str] = (), length: int = 12) -> str:
    """A hex digest of the files at ``paths`` (each file's path relative to ``project_dir`` and its bytes) and of ``extra``."""
    digest = hashlib.sha256()
    for relative in source_files(project_dir, paths):
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256((project_dir / relative).read_bytes()).digest())
    for item in extra:
        digest.update(b"extra\0" + item.encode() + b"\0")
    return digest.hexdigest()[:length]


def source_files(project_dir: Path, paths: Sequence[str]) -> list[str]:
    """The files an image is made from, as sorted POSIX paths relative to ``project_dir``."""
    project_dir = Path(project_dir)
    for path in paths:
        if not (project_dir / path).exists():
            raise ImageSourceError(f"image source {project_dir / path} does not exist (listed in LAYER_SOURCES, components/common/image_sources.py)")
    in_git = _in_git_checkout(project_dir)
    files = _tracked_files(project_dir, paths) if in_git else _files_on_disk(project_dir, paths)
    for path in paths:
        if not any(f == path or f.startswith(path.rstrip("/") + "/") for f in files):
            reason = f"git does not track it (`git add {path}`: untracked files are not hashed)" if in_git else "it holds no file"
            raise ImageSourceError(f"{path} is used by an image but {reason}")
    return files


def _in_git_checkout(project_dir: Path) -> bool:
    return any((folder / ".git").exists() for folder in (project_dir.resolve(), *project_dir.resolve().parents))


def _tracked_files(project_dir: Path, paths: Sequence[str]) -> list[str]:
    try:
        result = subprocess.run(["git", "-C", str(project_dir), "ls-files", "-z", "--", *paths], capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError as error:
        raise ImageSourceError(f"{project_dir} is a git checkout but git is not installed; image hashes cover what git tracks") from error
    if result.returncode != 0:
        raise ImageSourceError(f"git ls-files failed in {project_dir}: {result.stderr.strip()}")
    # Tracked but deleted on disk: Packer will not see it either.
    return sorted(f for f in result.stdout.split("\0") if f and (project_dir / f).is_file())


def _files_on_disk(project_dir: Path, paths: Sequence[str]) -> list[str]:
    files: set[str] = set()
    for path in paths:
        root = project_dir / path
        for file in [root] if root.is_file() else root.rglob("*"):
            relative = file.relative_to(project_dir)
            if file.is_file() and not JUNK_NAMES.intersection(relative.parts) and not any(file.name.endswith(s) for s in JUNK_SUFFIXES):
                files.add(relative.as_posix())
    return sorted(files)
