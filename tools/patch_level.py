"""The base image's patch level, from the command line: show it, raise it, compare two images' packages.

    ./scripts/patch-level show
    ./scripts/patch-level raise [--to YYYYMMDDTHHMMSSZ]     # default: now, in UTC
    ./scripts/patch-level diff OLD.packages NEW.packages

`raise` rewrites the level line of images/base/patch-level and keeps its comments; a level
that is not newer than the current one is refused (going back to older packages is a
rollback: promote the image that had them). The scheduled workflow
(.github/workflows/patch-level.yml) runs it and opens a pull request.

`diff` compares two package manifests (what images/scripts/manifest.sh records in an
image; a bake downloads it as <image name>.packages): the packages upgraded, added and
removed. Exit 0 when it could compare them (whatever changed), 2 on a bad argument or file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from components.common.patch_level import PATCH_LEVEL_FILE, PatchLevelError, next_patch_level, parse_patch_level, read_patch_level

PROJECT_DIR = Path(__file__).resolve().parents[1]


class UsageError(Exception):
    """A bad argument or file: printed as ``patch-level: <message>``, exit 2."""


@dataclass(frozen=True)
class PackageChanges:
    upgraded: list[tuple[str, str, str]]  # name, old version, new version
    added: list[tuple[str, str]]
    removed: list[tuple[str, str]]


def read_manifest(path: Path) -> dict[str, str]:
    """name (with its architecture when it is not the image's own) -> version, from a package manifest file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot be read as a package manifest ({error})") from None
    packages: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("\t")
        if len(fields) != 3 or not all(fields):
            raise UsageError(f"{path}:{number}: not a package manifest line (name<TAB>version<TAB>architecture): {line[:80]!r}")
        name, version, architecture = fields
        packages[name if architecture in ("amd64", "all") else f"{name}:{architecture}"] = version
    if not packages:
        raise UsageError(f"{path}: an empty package manifest (an image always has packages)")
    return packages


def compare(old: dict[str, str], new: dict[str, str]) -> PackageChanges:
    return PackageChanges(
        upgraded=[(name, old[name], new[name]) for name in sorted(old.keys() & new.keys()) if old[name] != new[name]],
        added=[(name, new[name]) for name in sorted(new.keys() - old.keys())],
        removed=[(name, old[name]) for name in sorted(old.keys() - new.keys())],
    )


def render(changes: PackageChanges, old: Path, new: Path) -> str:
    lines = [f"packages from {old} to {new}:"]
    lines += [f"  ~ {name} {before} -> {after}" for name, before, after in changes.upgraded]
    lines += [f"  + {name} {version}" for name, version in changes.added]
    lines += [f"  - {name} {version}" for name, version in changes.removed]
    lines.append(f"{len(changes.upgraded)} changed, {len(changes.added)} added, {len(changes.removed)} removed")
    return "\n".join(lines)


def raise_level(project_dir: Path, level: str) -> tuple[str, str]:
    """Write ``level`` into the project's patch level file, keeping its comments; return (old, new)."""
    path = project_dir / PATCH_LEVEL_FILE
    current = read_patch_level(project_dir)
    new = parse_patch_level(level, source="--to")
    if new <= current:
        raise UsageError(f"--to {new} is not newer than the current patch level {current}; older packages come back by promoting an older image, not by a lower level")
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(new if line.strip() == current else line for line in lines) + "\n", encoding="utf-8")
    return current, new


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="patch-level", description=__doc__.split("\n\n")[0])
    commands = command.add_subparsers(dest="command", required=True, metavar="{show,raise,diff}")
    commands.add_parser("show", help="print the base image's patch level")
    raising = commands.add_parser("raise", help="raise the patch level (default: to now, in UTC)")
    raising.add_argument("--to", metavar="YYYYMMDDTHHMMSSZ", help="the new level (snapshot.debian.org's timestamp form)")
    diffing = commands.add_parser("diff", help="the packages that changed between two images' package manifests")
    diffing.add_argument("old", type=Path, help="the running image's manifest (<image name>.packages)")
    diffing.add_argument("new", type=Path, help="the next image's manifest")
    return command


def main(argv: Sequence[str] | None = None, *, project_dir: Path = PROJECT_DIR, now: datetime | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "show":
            print(read_patch_level(project_dir))
        elif args.command == "raise":
            old, new = raise_level(project_dir, args.to or next_patch_level(now or datetime.now(UTC)))
            print(f"{PATCH_LEVEL_FILE}: {old} -> {new}")
        else:
            print(render(compare(read_manifest(args.old), read_manifest(args.new)), args.old, args.new))
    except (UsageError, PatchLevelError) as error:
        print(f"patch-level: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
