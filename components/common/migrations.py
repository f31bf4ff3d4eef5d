"""The app's schema migrations as the image carries them: read from the sources, never imported.

`schema_migrations` reads `images/webapp/migrations/versions/*.py` with `ast` (the Pulumi
program's environment has no Alembic, and running a migration's module to learn its
number would run its imports) and orders them from the first to the head. A baking stack
exports the head as `schemaRevision`, so `pulumi preview` and the offline plan diff show a
version bump that carries a migration as one ("schemaRevision: 0001 -> 0002"): its new
servers migrate the live schema at start, before their gate passes.

The app runs one line of migrations (images/webapp/schema.py upgrades to the single head):
two heads (two branches each adding a 0002) or a gap are refused here, when the program
runs, before anything is baked.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pulumi

VERSIONS = Path("images/webapp/migrations/versions")


class MigrationSourceError(pulumi.RunError):
    """The migrations folder does not hold one line of migrations (the CLI prints the message alone, no traceback)."""


@dataclass(frozen=True)
class Migration:
    revision: str
    down_revision: str | None
    summary: str  # the first line of the module's docstring
    file: str  # relative to the project directory


def schema_migrations(project_dir: Path) -> tuple[Migration, ...]:
    """Every migration under ``project_dir``, from the first to the head; raises MigrationSourceError."""
    folder = project_dir / VERSIONS
    found = [_read(path, project_dir) for path in sorted(folder.glob("*.py"))] if folder.is_dir() else []
    by_down: dict[str | None, list[Migration]] = {}
    for migration in found:
        by_down.setdefault(migration.down_revision, []).append(migration)
    revisions = [m.revision for m in found]
    duplicates = sorted({r for r in revisions if revisions.count(r) > 1})
    if duplicates:
        raise MigrationSourceError(f"{VERSIONS}: revision {', '.join(duplicates)} is defined twice")
    for parent, children in by_down.items():
        if len(children) > 1:
            names = ", ".join(f"{m.revision} ({m.file})" for m in children)
            raise MigrationSourceError(f"{VERSIONS}: {names} all follow {parent or 'the empty schema'}: the app runs one line of migrations; renumber one to follow the other")
    ordered: list[Migration] = []
    last: str | None = None
    while last in by_down:
        (migration,) = by_down[last]
        ordered.append(migration)
        last = migration.revision
    orphans = sorted(m.file for m in found if m not in ordered)
    if orphans:
        raise MigrationSourceError(f"{VERSIONS}: {', '.join(orphans)} follow(s) no migration in the line from the empty schema (check down_revision)")
    return tuple(ordered)


def schema_revision(project_dir: Path) -> str | None:
    """The head revision the image's app migrates to, or None when it has no migrations."""
    migrations = schema_migrations(project_dir)
    return migrations[-1].revision if migrations else None


def _read(path: Path, project_dir: Path) -> Migration:
    relative = str(path.relative_to(project_dir))
    try:
        module = ast.parse(path.read_text(), filename=relative)
    except SyntaxError as error:
        raise MigrationSourceError(f"{relative}: not Python ({error.msg}, line {error.lineno})") from None
    values: dict[str, object] = {}
    for node in module.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(node, ast.Assign) and isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                values[target.id] = ast.literal_eval(node.value)
            except ValueError:
                raise MigrationSourceError(f"{relative}: {target.id} must be a string literal") from None
    revision, down = values.get("revision"), values.get("down_revision")
    if not isinstance(revision, str) or not revision:
        raise MigrationSourceError(f'{relative}: no `revision = "..."` (a string literal)')
    if down is not None and not isinstance(down, str):
        raise MigrationSourceError(f"{relative}: down_revision must be a string or None (one line of migrations: no merge points)")
    docstring = ast.get_docstring(module) or ""
    return Migration(revision, down, docstring.splitlines()[0] if docstring else "", relative)
