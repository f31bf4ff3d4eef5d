"""tests/conftest.py's LONGEST_FIRST: the fast files that take longest go to the parallel workers first."""

from __future__ import annotations

from pathlib import Path

from conftest import LONGEST_FIRST, pytest_collection_modifyitems

ROOT = Path(__file__).resolve().parent.parent


class Item:
    """What the hook reads of a test item: its node id."""

    def __init__(self, nodeid: str):
        self.nodeid = nodeid


def test_every_listed_file_exists():
    """A renamed or deleted file would silently drop out of the order."""
    assert [path for path in LONGEST_FIRST if not (ROOT / path).is_file()] == []


def test_listed_files_come_first_in_the_lists_order_and_the_rest_keep_theirs():
    first, second = LONGEST_FIRST[0], LONGEST_FIRST[1]
    items = [Item(n) for n in ("tests/a.py::x", f"{second}::p", "tests/b.py::y", f"{first}::q", f"{second}::r", "tests/a.py::z")]
    pytest_collection_modifyitems(None, items)  # type: ignore[arg-type]
    assert [item.nodeid for item in items] == [f"{first}::q", f"{second}::p", f"{second}::r", "tests/a.py::x", "tests/b.py::y", "tests/a.py::z"]
