"""The base image's patch level: which state of Debian's archive its packages come from.

One line in ``images/base/patch-level`` (comments start with ``#``): a timestamp in
snapshot.debian.org's form, ``YYYYMMDDTHHMMSSZ`` (UTC). The file is one of the base layer's
sources, so it is in the base's content hash, and the level is in the base image's name too
(``components.common.naming.base_image_name``). The cloud bakes point apt at the archive as it
was at that moment (``images/scripts/base.sh``); the local bake, which has no network, records
the level and installs what its stock disk holds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pulumi

PATCH_LEVEL_FILE = "images/base/patch-level"

# snapshot.debian.org's timestamp: it serves the archive as it was at the last import before it.
_FORM = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_FORMAT = "%Y%m%dT%H%M%SZ"


class PatchLevelError(pulumi.RunError):
    """The patch level file is missing or does not hold one valid timestamp (printed without a traceback)."""


def parse_patch_level(text: str, *, source: str = PATCH_LEVEL_FILE) -> str:
    """The one timestamp in ``text``, checked; ``source`` names the file in the error."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    allowed = "one line holding a UTC timestamp YYYYMMDDTHHMMSSZ (snapshot.debian.org's form, e.g. 20261207T000000Z)"
    if len(lines) != 1:
        raise PatchLevelError(f"{source}: expected {allowed}; found {len(lines)} non-comment lines")
    level = lines[0]
    if not _FORM.fullmatch(level):
        raise PatchLevelError(f"{source}: expected {allowed}; got {level!r}")
    try:
        moment = datetime.strptime(level, _FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise PatchLevelError(f"{source}: {level!r} is not a real date and time; expected {allowed}") from None
    # Debian's snapshot archive starts in 2005; trixie was released in 2025.
    if moment.year < 2025:
        raise PatchLevelError(f"{source}: {level!r} is before Debian 13 was released (2025); expected {allowed}")
    return level


def read_patch_level(project_dir: Path) -> str:
    """The patch level of the checkout at ``project_dir``."""
    path = Path(project_dir) / PATCH_LEVEL_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PatchLevelError(f"{PATCH_LEVEL_FILE}: cannot be read ({error}); it holds the base image's patch level") from None
    return parse_patch_level(text)


def patch_level_moment(level: str) -> datetime:
    """The moment (UTC) a valid patch level names."""
    return datetime.strptime(level, _FORMAT).replace(tzinfo=UTC)


def next_patch_level(now: datetime) -> str:
    """The level a scheduled raise writes: ``now`` in UTC, to the second."""
    return now.astimezone(UTC).strftime(_FORMAT)
