"""Schema migration figures against a real local PostgreSQL, under the load generator's traffic.

    uv run python benchmarks/migration.py

The current app serves `/` (which writes webapp.page_views) at 25 requests a second, each on a
new connection; a next version carrying an expand migration (0002: ADD COLUMN on that table,
tests/webapp_process.py) starts and migrates while it does; then both serve. Prints how
long the migration took (lock wait included, from the new server's log), how long the new server
took to become ready, and the traffic's failures. Asserts nothing about speed.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "images" / "local")]

from postgres import LocalPostgres  # noqa: E402
from traffic import LoadGenerator  # noqa: E402
from webapp_process import EXPAND_0002, RunningApp, get, next_version_migrations  # noqa: E402

RATE = 25
SETTLE_SECONDS = 5


def main() -> int:
    with LocalPostgres() as postgres, tempfile.TemporaryDirectory() as work, RunningApp(postgres) as current:
        with LoadGenerator(current.url + "/", rate=RATE, max_seconds=120) as load:
            time.sleep(SETTLE_SECONDS)
            started = time.monotonic()
            migrations = next_version_migrations(Path(work), EXPAND_0002)
            with RunningApp(postgres, APP_VERSION="next", APP_MIGRATIONS=str(migrations)) as next_version:
                ready_seconds = time.monotonic() - started
                time.sleep(SETTLE_SECONDS)
                report = load.stop()
                views = get(next_version.url + "/")[1]["views"]
        migrated = re.search(r"migrated schema .*", next_version.output)
        print(f"migration: {migrated.group(0) if migrated else 'none: ' + next_version.output[-500:]}")
        print(f"next version ready {ready_seconds:.1f} s after its start (interpreter, Alembic import, lock, migration)")
        print(f"traffic to the current version meanwhile: {report.describe()}; page views counted: {views}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
