"""The next release the rehearsal rolls out: this checkout's tracked files, plus a schema migration.

    next_release(folder)   # -> folder, holding images/, components/, __main__.py, ... and 0002

A release is what `git checkout` of the next commit gives a team: the same program and
templates, a new version of the app. Here it differs by one expand migration (EXPAND_0002:
a nullable column on the table every request to `/` writes), so the version bump's image
is a real source change (its name carries the content hash of the copy, computed as the
program computes it) and its first server migrates the live schema while the old fleet serves.
Files are copied as they are on disk (as the image hash reads them), untracked ones left out.
The rehearsal's next release also raises the base's patch level, so its rollout is a base change
(both layers baked anew) as well as a version bump.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from components.common.patch_level import PATCH_LEVEL_FILE, parse_patch_level, read_patch_level  # noqa: E402

MIGRATION_FILE = Path("images/webapp/migrations/versions/0002_next.py")

# A next version's migration that keeps the current version working: a nullable column.
EXPAND_0002 = '''"""Expand: where the last view came from (nullable: the previous version never writes it)."""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("page_views", sa.Column("last_referrer", sa.Text, nullable=True), schema="webapp")
'''


def tracked_files(project_dir: Path = PROJECT_DIR) -> list[Path]:
    """What git tracks in ``project_dir`` and is on disk, relative to it."""
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=project_dir, capture_output=True, check=True, timeout=60).stdout
    return [Path(name) for name in listing.decode().split("\0") if name and (project_dir / name).is_file()]


def next_release(folder: Path, migration: str = EXPAND_0002, *, project_dir: Path = PROJECT_DIR, patch_level: str | None = None) -> Path:
    """Copy ``project_dir``'s tracked files into ``folder`` and add ``migration``; return ``folder``.

    With ``patch_level``, the release also raises the base's patch level to it (images/base/patch-level), as
    the weekly workflow does: a new base layer under the new app, so its rollout is a base change too.
    """
    for relative in tracked_files(project_dir):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project_dir / relative, folder / relative)
    target = folder / MIGRATION_FILE
    if target.exists():
        raise FileExistsError(f"{MIGRATION_FILE} is already in the project: the rehearsal's next migration needs a new number")
    target.write_text(migration)
    if patch_level is not None:
        current = read_patch_level(project_dir)
        if parse_patch_level(patch_level, source="patch_level") <= current:
            raise ValueError(f"the next release's patch level {patch_level} must be newer than {current}")
        level_file = folder / PATCH_LEVEL_FILE
        level_file.write_text(level_file.read_text().replace(current, patch_level))
    return folder
