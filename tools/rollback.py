"""`rollback`: pin a stack back to the previous promoted image (or a named version) and deploy it, with no bake.

    ./scripts/rollback --stack prod [--to 1.4.1] [--yes]

The pairs (appVersion, imageSourceHash) a stack ran are read from its stack file's git
history: a promoting stack's file names both; a baking stack's file names the version,
and the commit's image sources hash to the rest (components/common/image_sources.py, on
a clean export of that commit). A baking stack rolls back by promoting its own old image
(`imageMode: promote`, `imageStack` itself), so nothing is baked. The image must still
exist (the same lookup as `images prune`). It shows the stack file's diff and asks before
it runs `pulumi up`. See docs/day-two.md.
"""

from __future__ import annotations

import argparse
import difflib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.common.image_sources import ImageSourceError, image_source_hashes
from components.common.naming import app_image_name
from tools.image_store import AwsImages, DigitalOceanImages, ImageLookupError, ImageStore
from tools.stack_state import PROJECT, StackFile, StateError, pulumi_cli, read_stack_file, stack_names

GIT_TIMEOUT_SECONDS = 120
# What the AWS base layer starts from: deployments/aws.py's AWS_BASE_IMAGE (not imported: that loads the AWS SDK).
AWS_BASE_IMAGE = "amazon-ebs:136693071363/debian-12-amd64-*"


class RollbackError(Exception):
    """Why no rollback happens; nothing was changed."""


@dataclass(frozen=True)
class Pin:
    version: str
    source_hash: str
    source_stack: str
    commit: str = "working tree"

    def image_name(self, app_name: str) -> str:
        return app_image_name(app_name, self.source_stack, self.version, self.source_hash)


def git(project_dir: Path, *args: str, binary: bool = False) -> bytes:
    result = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, timeout=GIT_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0:
        raise RollbackError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def pin_of(config: dict, stack: str, hash_sources: Path | None) -> Pin | None:
    """The pair a stack file's config deploys; a baking stack's hash from the sources at ``hash_sources``."""
    file = StackFile(stack, config)
    version = file.get("appVersion")
    if not version:
        return None
    if not file.baking:
        source_hash = file.get("imageSourceHash")
        return Pin(version, source_hash, file.get("imageStack")) if source_hash else None
    if hash_sources is None:
        return None
    base_image = AWS_BASE_IMAGE if file.cloud == "aws" else file.get("baseImage", "debian-12-x64")
    try:
        return Pin(version, image_source_hashes(hash_sources, base_image=base_image, app_name=file.app_name).app, stack)
    except ImageSourceError:
        return None  # a commit before the image sources existed as they do now


def history(project_dir: Path, stack: str) -> list[Pin]:
    """The pairs the stack file named, newest commit first, each once."""
    path = f"Pulumi.{stack}.yaml"
    baking = read_stack_file(project_dir, stack).baking
    # A baking stack's image changes with its sources too.
    paths = [path, "images"] if baking else [path]
    commits = git(project_dir, "log", "--format=%H", "--", *paths).decode().split()
    pins: list[Pin] = []
    for commit in commits:
        try:
            config = (yaml.safe_load(git(project_dir, "show", f"{commit}:{path}")) or {}).get("config") or {}
        except (RollbackError, yaml.YAMLError, AttributeError):
            continue  # the file did not exist yet, or did not parse then
        if baking and StackFile(stack, config).baking:
            archive = io.BytesIO(git(project_dir, "archive", commit, "--", "images"))
            with tempfile.TemporaryDirectory() as folder, tarfile.open(fileobj=archive) as sources:
                sources.extractall(folder, filter="data")
                pin = pin_of(config, stack, Path(folder))
        else:
            pin = pin_of(config, stack, None)
        if pin is not None and all((pin.version, pin.source_hash) != (p.version, p.source_hash) for p in pins):
            pins.append(Pin(pin.version, pin.source_hash, pin.source_stack, commit[:12]))
    return pins


def choose(current: Pin | None, pins: Sequence[Pin], to_version: str | None) -> Pin:
    for pin in pins:
        if current is not None and (pin.version, pin.source_hash) == (current.version, current.source_hash):
            continue
        if to_version is None or pin.version == to_version:
            return pin
    wanted = f"version {to_version}" if to_version else "a previous pair"
    seen = ", ".join(f"{p.version} ({p.source_hash})" for p in pins) or "none"
    raise RollbackError(f"the stack file's git history names no {wanted} other than the current one; pairs found: {seen}")


def repin(text: str, pin: Pin, baking: bool) -> str:
    """The stack file with the pins set (comments and order kept); a baking stack switched to promote its own image."""
    values = {"appVersion": pin.version, "imageSourceHash": pin.source_hash}
    if baking:
        values |= {"imageMode": "promote", "imageStack": pin.source_stack}
    for key, value in values.items():
        entry = f'{PROJECT}:{key}: "{value}"'
        line = re.compile(rf"^(\s*){re.escape(PROJECT)}:{key}:.*$", re.MULTILINE)
        if (found := line.search(text)) is not None:
            text = text[: found.start()] + found.group(1) + entry + text[found.end() :]
        elif (anchor := re.search(rf"^(\s*){re.escape(PROJECT)}:appVersion:.*$", text, re.MULTILINE)) is not None:
            text = text[: anchor.end()] + "\n" + anchor.group(1) + entry + text[anchor.end() :]
    return text


def image_exists(file: StackFile, name: str) -> bool:
    """Whether the image is still there, in the stack's region: the same listing `images prune` decides on."""
    store: ImageStore = AwsImages([file.region]) if file.cloud == "aws" else DigitalOceanImages()
    return any(image.name == name and (file.cloud == "aws" or file.region in image.region.split(",")) for image in store.images(name))


def rollback(args: argparse.Namespace) -> int:
    project_dir: Path = args.project_dir
    if args.stack not in stack_names(project_dir):
        print(f"rollback: argument --stack: no stack file Pulumi.{args.stack}.yaml; stacks: {', '.join(stack_names(project_dir)) or 'none'}", file=sys.stderr)
        return 2
    path = project_dir / f"Pulumi.{args.stack}.yaml"
    try:
        file = read_stack_file(project_dir, args.stack)
        current = pin_of(file.config, args.stack, project_dir if file.baking else None)
        target = choose(current, history(project_dir, args.stack), args.to)
        name = target.image_name(file.app_name)
        if not image_exists(file, name):
            raise RollbackError(f"image {name} ({target.commit}) is no longer there in {file.region}: it was deleted (images prune keeps what a stack uses and the newest); pick another with --to")
        old = path.read_text()
        new = repin(old, target, file.baking)
        print("".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path.name}", f"b/{path.name}")))
        print(f"rollback: {args.stack} to {target.version} ({target.source_hash}), image {name}, as of commit {target.commit}; no bake")
        if not args.yes and input(f"Write {path.name} and run `pulumi up --stack {args.stack}`? [y/N] ").strip().lower() not in ("y", "yes"):
            print("rollback: nothing changed")
            return 1
        pulumi = pulumi_cli()
    except (RollbackError, StateError, ImageLookupError, EOFError) as error:
        print(f"rollback: refused for stack {args.stack}, nothing changed: {error or 'no answer on stdin (--yes to skip the question)'}", file=sys.stderr)
        return 1
    path.write_text(new)
    up = subprocess.run([pulumi, "up", "--stack", args.stack, "--yes"], cwd=project_dir, check=False)
    if up.returncode == 0:
        print(f"rollback: done; commit {path.name} so the repository says what {args.stack} runs")
    return up.returncode


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="rollback", description="Pin a stack back to a previous image and deploy it (no bake).")
    root.add_argument("--stack", required=True, help="the stack to roll back")
    root.add_argument("--to", metavar="VERSION", help="the app version to go back to (default: the pair before the current one)")
    root.add_argument("--yes", action="store_true", help="do not ask before `pulumi up`")
    root.add_argument("--project-dir", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    return rollback(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
