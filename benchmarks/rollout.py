"""Rollout figures: the rehearsal's chain of scenarios, as `tests/images/test_rollout.py` runs it.

    uv run python benchmarks/rollout.py

Bakes (or takes from the cache) the app image at two versions, starts a real
PostgreSQL and HAProxy on 127.0.0.1, and replays `pulumi up` for each scenario
with real QEMU VMs under steady traffic (images/local/scenarios.py). Prints, per
scenario: the rollout strategy, requests sent through the balancer, failed
requests, rollout time (first step to old generation gone), time to the first
new server in rotation, and the peak number of VMs. The all-at-once version bump
and the canary env change are the side-by-side pair: same fleet, two strategies.

Figures only; nothing here passes or fails on time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "images" / "local"), str(ROOT / "tests")]

from postgres import LocalPostgres  # noqa: E402
from rehearsal import GUEST_DATABASE_HOST  # noqa: E402
from scenarios import REHEARSAL_CONFIG, results_table, run_chain  # noqa: E402


def main() -> None:
    started = time.monotonic()
    with LocalPostgres(user="hello", database="hello", host_names=("127.0.0.1", "localhost", GUEST_DATABASE_HOST)) as postgres:
        results = run_chain(postgres, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"\nRollout rehearsal: fleet of {REHEARSAL_CONFIG['fleetCount']}, QEMU VMs, HAProxy, PostgreSQL, all on 127.0.0.1 ({time.monotonic() - started:.0f}s in all)\n")
    print(results_table(results))


if __name__ == "__main__":
    main()
