"""Which baked images to keep: pure, so the rule is tested without a cloud.

A baking stack names every image it makes (components/common/naming.py):
``<app>-<stack>-<version>-<hash>`` for the app layer and ``<app>-<stack>-base-<patch level>-<hash>``
for the base (and ``<app>-<stack>-base-<hash>``, the name bases had before they carried their patch level). `parse_image_name` reads a name back against that scheme, so an image
someone else made in the account is never the stack's. `plan_prune` keeps the
``keep`` newest of each layer and every image a stack's state or stack file refers
to; the rest would be deleted. `references_in_deployment` reads those references
from a `pulumi stack export`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.common.naming import app_image_name
from config.rules import VERSION_PATTERN

# Published snapshot storage prices, per GiB (DigitalOcean) or GB (EBS standard tier) and month:
# https://docs.digitalocean.com/products/snapshots/details/pricing/ and https://aws.amazon.com/ebs/pricing/
DIGITALOCEAN_SNAPSHOT_PRICE = 0.06
EBS_SNAPSHOT_PRICE = 0.05

# The content hash in every image name (components.common.image_sources.source_hash: 12 hex digits).
SOURCE_HASH = re.compile(r"[0-9a-f]{12}")

# Where an image id or name sits in a state: the stack's outputs (imageId, imageName), the image
# components' outputs (image_id, image_name, the base layer's too), a droplet's `image`, an AWS
# launch template's `imageId`, an AMI copy's `sourceAmiId`.
REFERENCE_KEYS = frozenset({"image", "imageId", "imageName", "image_id", "image_name", "sourceAmiId"})

# A base's name carries its patch level (components.common.patch_level) before its hash.
PATCHED_BASE = re.compile(r"base-[0-9]{8}T[0-9]{6}Z")

Layer = Literal["base", "app"]


@dataclass(frozen=True)
class ImageName:
    layer: Layer
    source_hash: str
    version: str | None = None


def parse_image_name(name: str, app_name: str, stack: str) -> ImageName | None:
    """The layer, version and hash of an image ``stack`` baked for ``app_name``; None for any other name."""
    prefix = f"{app_name}-{stack}-"
    if not name.startswith(prefix):
        return None
    rest, _, source_hash = name[len(prefix) :].rpartition("-")
    if not SOURCE_HASH.fullmatch(source_hash):
        return None
    if rest == "base" or PATCHED_BASE.fullmatch(rest):
        return ImageName("base", source_hash)
    # A version starts with a digit, so another stack whose name extends this one (aws vs aws-staging) never parses here.
    if VERSION_PATTERN.fullmatch(rest):
        return ImageName("app", source_hash, rest)
    return None


@dataclass(frozen=True)
class Image:
    """One image in the cloud, as listed: a DigitalOcean snapshot or an AMI (with its EBS snapshots)."""

    id: str
    name: str
    created_at: str
    """ISO 8601, UTC: sorts by time as text."""
    size_gb: float
    region: str = ""
    snapshot_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    image: Image
    layer: Layer
    reasons: tuple[str, ...]
    """Why it is kept; empty: it would be deleted."""

    @property
    def keep(self) -> bool:
        return bool(self.reasons)


@dataclass
class References:
    """Image ids and names some stack uses, with who uses them (for the report)."""

    users: dict[str, set[str]] = field(default_factory=dict)

    def add(self, value: str, user: str) -> None:
        self.users.setdefault(value, set()).add(user)

    def of(self, image: Image) -> set[str]:
        return self.users.get(image.id, set()) | self.users.get(image.name, set())


def plan_prune(images: Iterable[Image], *, app_name: str, stack: str, keep: int, references: References) -> list[Decision]:
    """One decision per image of the stack's naming scheme, newest first; images of other names are left out."""
    parsed = [(image, name) for image in images if (name := parse_image_name(image.name, app_name, stack)) is not None]
    parsed.sort(key=lambda pair: (pair[0].created_at, pair[0].id), reverse=True)
    seen: dict[str, int] = {"base": 0, "app": 0}
    decisions = []
    for image, name in parsed:
        seen[name.layer] += 1
        reasons = [f"used by {user}" for user in sorted(references.of(image))]
        if seen[name.layer] <= keep:
            reasons.append(f"among the {keep} newest {name.layer} images")
        decisions.append(Decision(image, name.layer, tuple(reasons)))
    return decisions


def monthly_cost(size_gb: float, price: float) -> float:
    return round(size_gb * price, 2)


def references_in_deployment(deployment: Mapping[str, Any], stack: str, references: References) -> None:
    """Add every image id or name in a `pulumi stack export` (its resources' inputs and outputs) to ``references``."""
    resources = (deployment.get("deployment") or {}).get("resources") or []
    for resource in resources:
        for section in ("outputs", "inputs"):
            for value in _values_at_reference_keys(resource.get(section) or {}):
                references.add(value, f"stack {stack}")


def _values_at_reference_keys(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in REFERENCE_KEYS and isinstance(item, str | int) and not isinstance(item, bool):
                yield str(item)
            else:
                yield from _values_at_reference_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values_at_reference_keys(item)


def pinned_image(config: Mapping[str, Any], app_name: str) -> str | None:
    """The image a promoting stack's file pins (`imageStack`, `appVersion`, `imageSourceHash`), deployed or not yet."""
    stack, version, source_hash = (str(config.get(f"immutable-web:{key}") or "") for key in ("imageStack", "appVersion", "imageSourceHash"))
    if str(config.get("immutable-web:imageMode") or "bake") != "promote" or not (stack and version and source_hash):
        return None
    return app_image_name(app_name, stack, version, source_hash)
