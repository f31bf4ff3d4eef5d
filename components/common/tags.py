"""The one place that decides which tags every resource carries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def common_tags(app_name: str, stack: str, extra: Sequence[str] = ()) -> list[str]:
    """DigitalOcean tags for every taggable resource: who owns it, which stack, how it is managed.

    Order is stable (a reordered list would be a spurious diff in `pulumi preview`).
    """
    tags = [f"app:{app_name}", f"stack:{stack}", "managed-by:pulumi"]
    tags.extend(tag for tag in extra if tag not in tags)
    return tags


def aws_tags(app_name: str, stack: str, extra: Mapping[str, str]) -> dict[str, str]:
    """AWS tags (a map) for every taggable resource: the same owner, stack and manager, as keys."""
    return {"app": app_name, "stack": stack, "managed-by": "pulumi", **{key: value for key, value in extra.items() if key not in ("app", "stack", "managed-by")}}
