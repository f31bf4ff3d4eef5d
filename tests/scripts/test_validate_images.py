"""scripts/validate-images: `packer init` + `packer validate` of every bake the staging plan runs, with its variables.

The real Packer (1.11, `packer init` downloads plugins) runs in the deploy
workflow; here a stand-in `packer` records what it is asked, and the oracle
is the program's own bake Commands in the offline plan.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from offline.plan import build_plan

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "validate-images"

FAKE_PACKER = """#!{python}
import json, os, sys
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "vars": {{k: v for k, v in os.environ.items() if k.startswith("PKR_VAR_")}}}}) + "\\n")
sys.exit(3 if os.environ.get("FAIL_ON") in sys.argv else 0)
"""


def run_script(tmp_path: Path, *args: str, fail_on: str = "") -> tuple[subprocess.CompletedProcess, list[dict]]:
    log = tmp_path / "calls.jsonl"
    packer = tmp_path / "packer"
    packer.write_text(FAKE_PACKER.format(python=sys.executable, log=str(log)))
    packer.chmod(0o755)
    # UV_NO_SYNC: the script's `uv run` uses the environment this test runs in, already synced (by `uv run
    # pytest`), instead of checking it again and recompiling its bytecode on each of these runs.
    env = {**os.environ, "FAIL_ON": fail_on, "UV_NO_SYNC": "1"}
    result = subprocess.run([str(SCRIPT), "--packer", str(packer), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory):
    """The plan `plan --stack STACK --json` prints, written once per stack (the end-to-end test runs the planner itself)."""
    written: dict[str, Path] = {}

    def write(stack: str) -> Path:
        if stack not in written:
            written[stack] = tmp_path_factory.mktemp("plans") / f"{stack}.json"
            written[stack].write_text(json.dumps(build_plan(stack)))
        return written[stack]

    return write


@pytest.fixture(scope="module")
def staging_bakes(staging):
    return {r.name: r.inputs for r in staging.resources if str(r.inputs.get("create", "")).startswith("packer init")}


def test_every_bake_is_initialised_then_validated_with_the_programs_variables(tmp_path, staging_bakes):
    result, calls = run_script(tmp_path, "--stack", "staging")
    assert result.returncode == 0, result.stderr
    assert [c["argv"] for c in calls] == [
        ["init", "images/app"],
        ["validate", "-only=digitalocean.app", "images/app"],
        ["init", "images/base"],
        ["validate", "-only=digitalocean.base", "images/base"],
    ]
    for call in calls:
        layer = call["argv"][-1].removeprefix("images/")
        command = staging_bakes[f"{layer}-image-packer"]
        assert " ".join(call["argv"][1:]) in command["create"], f"{layer}: not the build the bake runs"
        assert call["vars"] == command["environment"], f"{layer}: the variables differ from the bake's"


def test_a_template_that_does_not_validate_fails_the_script(tmp_path, plan_file):
    result, calls = run_script(tmp_path, "--plan", str(plan_file("staging")), fail_on="-only=digitalocean.app")
    assert result.returncode == 3
    assert ["init", "images/base"] not in [c["argv"] for c in calls], "stops at the first failure"


def test_a_stack_that_bakes_nothing_is_an_error(tmp_path, plan_file):
    result, calls = run_script(tmp_path, "--plan", str(plan_file("prod")))
    assert result.returncode == 1 and "bakes nothing" in result.stderr and calls == []


@pytest.mark.parametrize(("content", "message"), [(None, "No such file"), ("[1, 2]", "not a plan document"), ("{", "not a plan document")])
def test_a_plan_file_that_is_not_a_plan_is_a_usage_error(tmp_path, content, message):
    plan = tmp_path / "plan.json"
    if content is not None:
        plan.write_text(content)
    result, calls = run_script(tmp_path, "--plan", str(plan))
    assert result.returncode == 2 and f"--plan {plan}" in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and calls == []


def test_a_stack_the_planner_refuses_is_its_message_not_a_traceback(tmp_path):
    result, calls = run_script(tmp_path, "--stack", "no-such-stack")
    assert result.returncode != 0 and calls == []
    assert "the plan of stack no-such-stack failed" in result.stderr and "unknown stack 'no-such-stack'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
