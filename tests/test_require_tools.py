"""tests/conftest.py's require_tools: a missing tool skips a test on a developer's machine and fails it under CI=true."""

from __future__ import annotations

import pytest
from conftest import pytest_runtest_setup, require_tools

MISSING = "no-such-tool-for-require-tools"


class MarkedItem:
    """What pytest_runtest_setup reads of a test item: its marks."""

    def __init__(self, mark: pytest.MarkDecorator):
        self.mark = mark.mark

    def iter_markers(self, name: str):
        return iter([self.mark] if self.mark.name == name else [])


def test_a_missing_tool_skips_the_test_on_a_developers_machine(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    mark = require_tools("sh", MISSING, present={"postgresql": False, "python3": True})
    assert mark.name == "skipif" and mark.args == (True,)
    assert mark.kwargs["reason"].startswith(f"needs {MISSING}, postgresql "), "names what is missing, and only that"
    pytest_runtest_setup(MarkedItem(mark))  # a skipif mark: the hook lets pytest skip it


def test_a_missing_tool_fails_the_test_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    mark = require_tools(MISSING)
    with pytest.raises(pytest.fail.Exception, match=f"CI=true: needs {MISSING}"):
        pytest_runtest_setup(MarkedItem(mark))


def test_present_tools_run_the_test_under_ci_and_locally(monkeypatch):
    for ci in ("true", ""):
        monkeypatch.setenv("CI", ci)
        mark = require_tools("sh", present={"python3": True})
        assert mark.name == "skipif" and mark.args == (False,)
        pytest_runtest_setup(MarkedItem(mark))
