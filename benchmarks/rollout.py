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
from scenarios import REHEARSAL_CONFIG, run_chain  # noqa: E402

STRATEGY = {"first generation": "all-at-once", "version bump": "all-at-once", "database restart": "-"}


def main() -> None:
    started = time.monotonic()
    with LocalPostgres(user="hello", database="hello", host_names=("127.0.0.1", "localhost", GUEST_DATABASE_HOST)) as postgres:
        results = run_chain(postgres, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"\nRollout rehearsal: fleet of {REHEARSAL_CONFIG['fleetCount']}, QEMU VMs, HAProxy, PostgreSQL, all on 127.0.0.1 ({time.monotonic() - started:.0f}s in all)\n")
    header = ("scenario", "strategy", "sent", "failed", "req/s", "rollout s", "first new up s", "peak VMs", "gates")
    rows = []
    for name, result in results.items():
        first_up = f"{result.first_new_up_seconds:.0f}" if result.first_new_up_seconds is not None else "never"
        gates = " ".join(f"{'ok' if passed else 'FAIL'}:{seconds:.0f}s" for _, passed, seconds in result.gates) or "-"
        rows.append((name, STRATEGY.get(name, "canary"), str(result.traffic.sent), str(result.traffic.failed), f"{result.traffic.rate():.1f}", f"{result.rollout_seconds:.0f}", first_up, str(result.peak_vms), gates))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))


if __name__ == "__main__":
    main()
