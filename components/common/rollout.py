"""Rollout waves: in which order an update creates the new droplets, and what gates each group.

Pure. ``AppFleet`` creates the droplets wave by wave: every droplet of a wave
depends on the previous wave's health gate, so the engine creates it only once
that gate has passed. A failed gate fails `pulumi up` there: the later waves are
never created, and the engine deletes no old droplet (it deletes replaced
resources at the end of a successful update, Pulumi 3.46 and later).

* ``all-at-once``: one wave of every droplet (the fastest);
* ``canary``: one droplet first, then the rest: a bad change costs one droplet;
* ``batches``: waves of ``batch_size`` droplets.

Peak capacity is the same for all three, old fleet plus new fleet, because the
old droplets are deleted at the end of the update, not wave by wave; waves
bound what a bad change costs, and how many new servers reach the database at once.
"""

from __future__ import annotations

from enum import StrEnum


class RolloutStrategy(StrEnum):
    ALL_AT_ONCE = "all-at-once"
    CANARY = "canary"
    BATCHES = "batches"


def rollout_waves(count: int, strategy: RolloutStrategy, batch_size: int = 1) -> list[list[int]]:
    """Droplet indexes per wave, in creation order; every index from 0 to count-1 exactly once."""
    if count < 1:
        raise ValueError(f"a fleet has at least one droplet, got {count}")
    indexes = list(range(count))
    if strategy == RolloutStrategy.ALL_AT_ONCE:
        return [indexes]
    if strategy == RolloutStrategy.CANARY:
        return [indexes[:1], indexes[1:]] if count > 1 else [indexes]
    if batch_size < 1:
        raise ValueError(f"a batch holds at least one droplet, got {batch_size}")
    return [indexes[start : start + batch_size] for start in range(0, count, batch_size)]
