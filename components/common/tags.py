"""The one place that decides which tags every resource carries."""

from __future__ import annotations

from collections.abc import Sequence


def common_tags(app_name: str, stack: str, extra: Sequence[str] = ()) -> list[str]:
    """DigitalOcean tags for every taggable resource: who owns it, which stack, how it is managed.

    Order is stable (a reordered list would be a spurious diff in `pulumi preview`).
    """
    tags = [f"app:{app_name}", f"stack:{stack}", "managed-by:pulumi"]
    tags.extend(tag for tag in extra if tag not in tags)
    return tags
