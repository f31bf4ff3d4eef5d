"""A fleet generation: one short hash of everything the fleet's instances are made of. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping


def fleet_generation(values: Mapping[str, object]) -> str:
    """12 hex digits over the JSON of ``values`` (keys sorted): equal inputs, equal generation; any change, a new one."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
