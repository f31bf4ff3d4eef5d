"""The offline plan: golden output for both stacks, and the diff of typical changes.

Regenerate the golden files after an intended change with:
    UPDATE_GOLDEN=1 uv run pytest tests/test_plan.py
and review `git diff tests/golden` like any other change: it is the plan's change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from offline.harness import MOCK_DB_PASSWORD_PREFIX, PROJECT_DIR, TEST_SECRET_PREFIX
from offline.plan import build_plan, diff_plans, render_diff, render_text

GOLDEN = Path(__file__).parent / "golden"


def plan_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "offline.plan", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def plans():
    return {stack: build_plan(stack) for stack in ("staging", "prod")}


@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize("form", ["txt", "json"])
def test_plan_matches_golden(stack, form, plans):
    plan = plans[stack]
    text = render_text(plan) if form == "txt" else json.dumps(plan, indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"plan-{stack}.{form}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}; run UPDATE_GOLDEN=1 uv run pytest {__file__}"
    assert text == path.read_text(), f"plan for {stack} changed; if intended: UPDATE_GOLDEN=1 uv run pytest tests/test_plan.py"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_plan_masks_every_secret(stack, plans):
    document = json.dumps(plans[stack])
    assert TEST_SECRET_PREFIX not in document and MOCK_DB_PASSWORD_PREFIX not in document and "mock-admin-password" not in document
    text = render_text(plans[stack])
    assert 'DATABASE_PASSWORD="[secret]"' in text and 'APP_SECRET="[secret]"' in text
    assert "appSecret: [secret]" in text


def test_plan_shows_tree_options_cloud_init_and_outputs(plans):
    text = render_text(plans["prod"])
    assert "├─ immutable-web:fleet:AppFleet  fleet" in text
    assert "replace-on-changes [image, userData], create-before-destroy" in text
    assert "options: protect" in text  # the prod database
    assert "#cloud-config" in text and "/etc/webapp/app.env" in text
    assert "url: https://www.example.com" in text


def actions(old, new) -> dict[str, str]:
    return {change.name: change.action for change in diff_plans(old, new)}


def test_version_bump_bakes_one_image_and_replaces_every_droplet(plans):
    bumped = build_plan("staging", {"appVersion": "1.5.0"})
    assert actions(plans["staging"], bumped) == {
        "app-image-packer": "replace",
        "app-image-copy": "replace",  # the new image's regions are checked (Packer already copied it: a no-op)
        "fleet-0": "replace",
        "fleet-1": "replace",
        "health-gate-wait": "replace",
    }
    text = render_diff(plans["staging"], bumped)
    assert "create new, then delete old" in text and "base-image-packer" not in text


def test_env_change_replaces_the_fleet_and_bakes_nothing(plans):
    changed = build_plan("staging", {"env": ["LOG_LEVEL=info", "FEATURE_NEW_CHECKOUT=true"]})
    assert actions(plans["staging"], changed) == {"fleet-0": "replace", "fleet-1": "replace", "health-gate-wait": "replace"}


def test_fleet_count_two_to_three_creates_one_droplet(plans):
    grown = build_plan("staging", {"fleetCount": 3})
    assert actions(plans["staging"], grown) == {"fleet-2": "create", "health-gate-wait": "replace"}


def test_dns_only_change_updates_only_the_record(plans):
    assert actions(plans["prod"], build_plan("prod", {"dnsTtl": 300})) == {"dns-record": "update"}


def test_region_change_is_flagged_as_refused_for_the_protected_database(plans):
    text = render_diff(plans["prod"], build_plan("prod", {"region": "ams3"}))
    assert "database-cluster" in text and "PROTECTED: pulumi up will refuse this replacement" in text


def test_cli_json_and_diff_round_trip(tmp_path):
    old = plan_cli("--stack", "staging", "--json")
    assert old.returncode == 0, old.stderr
    (tmp_path / "old.json").write_text(old.stdout)
    plan = json.loads(old.stdout)
    plan["resources"] = [r for r in plan["resources"] if r["name"] != "fleet-1"]
    (tmp_path / "new.json").write_text(json.dumps(plan))
    diff = plan_cli("diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--markdown")
    assert diff.returncode == 0, diff.stderr
    assert "| `-` delete | `fleet-1` |" in diff.stdout
    assert "0 to create, 0 to update, 0 to replace, 1 to delete" in diff.stdout


def test_cli_refuses_an_unknown_stack_and_a_bad_config():
    unknown = plan_cli("--stack", "qa")
    assert unknown.returncode == 2 and "unknown stack 'qa'" in unknown.stderr and "staging" in unknown.stderr
    not_a_plan = plan_cli("diff", "pyproject.toml", "pyproject.toml")
    assert not_a_plan.returncode != 0


def test_cli_against_head_diffs_the_committed_plan():
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    has_head = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=PROJECT_DIR, capture_output=True, timeout=60).returncode == 0
    if not has_head:
        pytest.skip("no commit to diff against")
    result = plan_cli("--stack", "staging", "--against", "HEAD")
    assert result.returncode == 0, result.stderr
    assert "Offline plan diff for stack staging" in result.stdout
    if not dirty.stdout.strip():
        assert "no changes" in result.stdout
