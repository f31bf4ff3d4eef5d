"""`images prune`: delete a baking stack's old images, never one a stack uses. A dry run unless --apply.

    ./scripts/images prune --stack staging [--keep 5] [--apply]

Keeps the ``--keep`` newest images of each layer (base, app) the stack baked, and every
image any stack of the project refers to: in its state (every stack the backend holds,
read with `pulumi stack export`) or in its stack file (a promotion's pins, deployed or
not yet). Any stack whose state cannot be read, or any failed lookup, stops it before
anything is deleted. See docs/day-two.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.image_store import AwsImages, DigitalOceanImages, ImageLookupError, ImageStore
from tools.retention import Decision, References, monthly_cost, pinned_image, plan_prune, references_in_deployment
from tools.stack_state import StackFile, StateError, deployed_stacks, export_state, read_stack_file, stack_names

DEFAULT_KEEP = 5


def positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of images, not {text!r}") from None
    if value < 1:
        # One at least: the image before the current one is the first a rollback needs.
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="images", description="The project's baked images.")
    commands = root.add_subparsers(dest="command", required=True)
    prune = commands.add_parser("prune", help="delete a baking stack's images no stack uses, but the newest (dry run unless --apply)")
    prune.add_argument("--stack", required=True, help="the baking stack whose images to prune (its name is part of theirs)")
    prune.add_argument("--keep", type=positive_count, default=DEFAULT_KEEP, help=f"newest images of each layer to keep whatever uses them (default {DEFAULT_KEEP})")
    prune.add_argument("--apply", action="store_true", help="delete them; without it, only print what would go")
    prune.add_argument("--project-dir", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    return root


def project_references(project_dir: Path, files: Sequence[StackFile], out: list[str]) -> References:
    """Every image a stack uses: each stack file's pins, each deployed stack's state. Raises StateError."""
    references = References()
    for file in files:
        if (pinned := pinned_image(file.config, file.app_name)) is not None:
            references.add(pinned, f"the pins in Pulumi.{file.stack}.yaml")
    deployed = deployed_stacks(project_dir, [file.stack for file in files])
    for stack in deployed:
        references_in_deployment(export_state(project_dir, stack), stack, references)
    undeployed = sorted({file.stack for file in files} - set(deployed))
    out.append(f"read the state of {len(deployed)} stack(s): {', '.join(deployed) or 'none'}")
    if undeployed:
        out.append(f"no state (never deployed): {', '.join(undeployed)}; their stack files' pins count")
    return references


def store_for(file: StackFile) -> ImageStore:
    if file.cloud == "aws":
        copies = [region for region in _list(file.get("imageCopyRegions", "[]")) if region != file.region]
        return AwsImages([file.region, *copies])
    return DigitalOceanImages()


def _list(value: str) -> list[str]:
    import yaml

    loaded = yaml.safe_load(value) if value else []
    return [str(item) for item in loaded] if isinstance(loaded, list) else []


def report(decisions: Sequence[Decision], price: float, out: list[str]) -> list[Decision]:
    doomed = [d for d in decisions if not d.keep]
    for decision in decisions:
        image = decision.image
        verdict = "keep  " if decision.keep else "delete"
        why = "; ".join(decision.reasons) or "unused, older than the newest kept"
        out.append(f"  {verdict} {image.name} ({image.id}{', ' + image.region if image.region else ''}) {image.size_gb:g} GB, ${monthly_cost(image.size_gb, price):.2f}/month: {why}")
    size = sum(d.image.size_gb for d in doomed)
    out.append(f"{len(doomed)} of {len(decisions)} image(s) to delete: {size:g} GB, ${monthly_cost(size, price):.2f} a month at ${price}/GB-month")
    return doomed


def prune(args: argparse.Namespace) -> int:
    project_dir: Path = args.project_dir
    stacks = stack_names(project_dir)
    if args.stack not in stacks:
        print(f"images prune: argument --stack: no stack file Pulumi.{args.stack}.yaml; stacks: {', '.join(stacks) or 'none'}", file=sys.stderr)
        return 2
    out: list[str] = []
    try:
        files = [read_stack_file(project_dir, stack) for stack in stacks]
        target = next(file for file in files if file.stack == args.stack)
        if not target.baking:
            print(f"stack {args.stack} bakes no images (imageMode promote): the images it runs are stack {target.get('imageStack')}'s; prune that stack")
            return 0
        references = project_references(project_dir, files, out)
        store = store_for(target)
        decisions = plan_prune(store.images(f"{target.app_name}-{args.stack}-"), app_name=target.app_name, stack=args.stack, keep=args.keep, references=references)
    except (StateError, ImageLookupError) as error:
        print("\n".join(out), file=sys.stderr)
        print(f"images prune: refused for stack {args.stack}, nothing deleted: {error}", file=sys.stderr)
        return 1
    print("\n".join(out))
    doomed = report(decisions, store.price_per_gb_month, out := [])
    print("\n".join(out))
    if not args.apply:
        print("dry run: nothing deleted (--apply deletes them)")
        return 0
    for decision in doomed:
        try:
            store.delete(decision.image)
        except ImageLookupError as error:
            print(f"images prune: stopped: {error}", file=sys.stderr)
            return 1
        print(f"deleted {decision.image.name} ({decision.image.id})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return prune(args)


if __name__ == "__main__":
    sys.exit(main())
