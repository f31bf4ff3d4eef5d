"""Rollout waves: a pure function, tested directly."""

from __future__ import annotations

import pytest

from components.common.rollout import RolloutStrategy, rollout_waves


@pytest.mark.parametrize(
    ("count", "strategy", "batch", "waves"),
    [
        (3, RolloutStrategy.ALL_AT_ONCE, 1, [[0, 1, 2]]),
        (3, RolloutStrategy.CANARY, 1, [[0], [1, 2]]),
        (1, RolloutStrategy.CANARY, 1, [[0]]),
        (5, RolloutStrategy.BATCHES, 2, [[0, 1], [2, 3], [4]]),
        (2, RolloutStrategy.BATCHES, 5, [[0, 1]]),
    ],
)
def test_waves_cover_every_droplet_once_in_order(count, strategy, batch, waves):
    assert rollout_waves(count, strategy, batch) == waves


@pytest.mark.parametrize(("count", "batch"), [(0, 1), (3, 0)])
def test_nonsense_is_refused(count, batch):
    with pytest.raises(ValueError):
        rollout_waves(count, RolloutStrategy.BATCHES, batch)
