"""Names of images, droplets and tags: pure and deterministic.

A promoting stack (prod) finds the image a baking stack (staging) made by name
alone, so both must compute exactly the same names from the same inputs.
"""

from __future__ import annotations

import re


def dashed(version: str) -> str:
    """A version as a hostname-safe label: 1.4.2-rc.1 -> 1-4-2-rc-1."""
    return re.sub(r"[^a-z0-9]+", "-", version.lower()).strip("-")


def droplet_hostname(app_name: str, stack: str, version: str, source_hash: str, index: int) -> str:
    """A droplet's name: it carries the image generation, so old and new coexist during a replace."""
    return f"{app_name}-{stack}-{dashed(version)}-{source_hash[:6]}-{index}"


def app_image_name(app_name: str, baking_stack: str, version: str, source_hash: str) -> str:
    """The app snapshot's (or AMI's) name; a promoting stack looks the image up by exactly this.

    The baking stack is part of it: two stacks baking the same app and sources (or two apps) never
    make images of one name, which a promoting stack could not tell apart (DigitalOcean) or the
    second bake could not make (AWS refuses a second AMI of a name in a region).
    """
    return f"{app_name}-{baking_stack}-{version}-{source_hash}"


def base_image_name(app_name: str, baking_stack: str, patch_level: str, source_hash: str) -> str:
    """The base layer's name: scoped like the app's, so no two apps or stacks collide on it.

    It carries the patch level (``components.common.patch_level``) in plain sight: a list of
    images shows which state of Debian's archive each base was patched to. The level is in the
    source hash too (its file is one of the base's sources).
    """
    return f"{app_name}-{baking_stack}-base-{patch_level}-{source_hash}"


# The fleet tag's prefix, reserved: a stack's own `tags` may not start with it (config.digitalocean).
FLEET_TAG_PREFIX = "fleet:"


def fleet_tag_name(app_name: str, stack: str) -> str:
    """The tag the load balancer, the fleet firewall and the database firewall trust.

    Colon-separated: neither an app name nor a stack name may hold a colon, so two (app, stack)
    pairs never share a tag (``hello-prod`` + ``eu`` and ``hello`` + ``prod-eu`` differ).
    """
    return f"{FLEET_TAG_PREFIX}{app_name}:{stack}"


def serving_user_name(app_name: str) -> str:
    """The database role the app serves as where the program, not the cloud, names it (AWS: RDS makes only its master
    user, named after the app, which owns the schema): ``<app>_serving``, DML only (images/webapp/schema.py)."""
    return f"{app_name}_serving"
