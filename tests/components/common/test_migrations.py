"""The migrations the image carries, read from the sources: one line from the empty schema to the head."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from components.common.migrations import VERSIONS, MigrationSourceError, schema_migrations, schema_revision

ROOT = Path(__file__).resolve().parents[3]


def migration(revision: str, down: str | None, summary: str = "A change.") -> str:
    return f'"""{summary}\n\nMore words.\n"""\nfrom alembic import op\n\nrevision = "{revision}"\ndown_revision = {down!r}\n\n\ndef upgrade() -> None:\n    op.execute("SELECT 1")\n'


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / VERSIONS
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return tmp_path


def test_this_checkout_migrates_to_0001():
    (first,) = schema_migrations(ROOT)
    assert (first.revision, first.down_revision, first.file) == ("0001", None, "images/webapp/migrations/versions/0001_page_views.py")
    assert first.summary.startswith("Page views:")
    assert schema_revision(ROOT) == "0001"


def test_ordered_by_their_links_not_their_file_names(tmp_path):
    root = project(tmp_path, {"a_second.py": migration("bbb", "aaa", "Second."), "z_first.py": migration("aaa", None, "First.")})
    assert [(m.revision, m.summary) for m in schema_migrations(root)] == [("aaa", "First."), ("bbb", "Second.")]
    assert schema_revision(root) == "bbb"


def test_no_migrations_no_revision(tmp_path):
    assert schema_migrations(tmp_path) == () and schema_revision(tmp_path) is None


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"1.py": migration("0001", None), "2a.py": migration("0002", "0001"), "2b.py": migration("0002b", "0001")}, "0002 .*2a.py.*0002b .*2b.py.* all follow 0001: the app runs one line"),
        ({"1.py": migration("0001", None), "again.py": migration("0001", "0001")}, "revision 0001 is defined twice"),
        ({"1.py": migration("0001", None), "3.py": migration("0003", "0002")}, "3.py follow.* no migration in the line"),
        ({"1.py": "revision = REVISION\n"}, "1.py: revision must be a string literal"),
        ({"1.py": '"""No revision."""\n'}, "1.py: no `revision"),
        ({"1.py": 'revision = "1"\ndown_revision = ("a", "b")\n'}, "1.py: down_revision must be a string or None"),
        ({"1.py": "def broken(:\n"}, "1.py: not Python"),
    ],
    ids=["two heads", "duplicate", "gap", "not a literal", "no revision", "merge point", "syntax"],
)
def test_anything_but_one_line_is_refused_with_the_file_named(tmp_path, files, message):
    with pytest.raises(MigrationSourceError, match=message) as caught:
        schema_migrations(project(tmp_path, files))
    assert isinstance(caught.value, pulumi.RunError), "the CLI prints a RunError's message alone, no traceback"
