"""The drift workflow, parsed: daily, every stack, a refresh that writes nothing and fails on a change, an issue on failure.

actionlint checks it with the others (tests/test_workflows.py).
"""

from __future__ import annotations

from conftest import ROOT
from test_workflows import load, steps


def test_drift_runs_daily_and_on_demand_for_every_stack_file():
    workflow = load("drift.yml")
    assert workflow["on"]["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"], "not daily"
    assert "workflow_dispatch" in workflow["on"]
    matrix = workflow["jobs"]["refresh"]["strategy"]["matrix"]["stack"]
    assert sorted(matrix) == sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in ROOT.glob("Pulumi.*.yaml"))
    assert workflow["jobs"]["refresh"]["strategy"]["fail-fast"] is False


def test_drift_refreshes_without_writing_and_fails_on_any_change():
    refresh = next(step for step in steps(load("drift.yml")) if step.get("id") == "refresh")
    words = refresh["run"].split()
    assert {"refresh", "--preview-only", "--expect-no-changes", "--non-interactive"} <= set(words)
    assert "up" not in words and "--yes" not in words
    assert "pipefail" in words, "the tee would hide the refresh's exit status"


def test_a_failed_refresh_opens_or_updates_an_issue_with_least_privilege():
    workflow = load("drift.yml")
    assert workflow["permissions"] == {"contents": "read", "issues": "write"}
    report = next(step for step in steps(workflow) if "gh issue create" in step.get("run", ""))
    assert report["if"] == "failure() && steps.refresh.outcome == 'failure'"
    assert "gh issue comment" in report["run"]
