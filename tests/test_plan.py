"""The offline plan: golden output for both stacks, and the diff of typical changes.

Regenerate the golden files after an intended change with:
    UPDATE_GOLDEN=1 uv run pytest tests/test_plan.py
and review `git diff tests/golden` like any other change: it is the plan's change.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import offline.plan.cli as plan_cli
import offline.runner
import offline.stack_config
from offline.harness import MOCK_DB_PASSWORD_PREFIX, PROJECT_DIR, TEST_SECRET_PREFIX, Resource, StackRun
from offline.plan import build_plan, diff_plans, main, plan_document, render_diff, render_text
from offline.providers import PROVIDER_REPLACES

sys.path.insert(0, str(PROJECT_DIR / "images" / "local"))
from release import EXPAND_0002, next_release

from components.common.migrations import MigrationSourceError

GOLDEN = Path(__file__).parent / "golden"
STACKS = ("staging", "prod", "aws-staging", "aws-prod")


@pytest.fixture(scope="module")
def plan_of():
    """``build_plan``, run once per (stack, overrides) in this module: several tests read the same changed plan."""
    built: dict[tuple[str, str], dict] = {}

    def plan(stack: str, overrides: dict | None = None) -> dict:
        key = (stack, json.dumps(overrides, sort_keys=True))
        if key not in built:
            built[key] = build_plan(stack, overrides)
        return copy.deepcopy(built[key])  # a test may change its copy

    return plan


@pytest.fixture(scope="module")
def plans():
    return {stack: build_plan(stack) for stack in STACKS}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("form", ["txt", "json"])
def test_plan_matches_golden(stack, form, plans):
    plan = plans[stack]
    text = render_text(plan) if form == "txt" else json.dumps(plan, indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"plan-{stack}.{form}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
        pytest.skip(f"regenerated {path.name}: review `git diff tests/golden`, then run the tests without UPDATE_GOLDEN")
    assert path.exists(), f"no golden file {path.name}; run UPDATE_GOLDEN=1 uv run pytest {__file__}"
    assert text == path.read_text(), f"plan for {stack} changed; if intended: UPDATE_GOLDEN=1 uv run pytest tests/test_plan.py"


@pytest.mark.parametrize("stack", STACKS)
def test_plan_masks_every_secret(stack, plans):
    document = json.dumps(plans[stack])
    assert TEST_SECRET_PREFIX not in document and MOCK_DB_PASSWORD_PREFIX not in document and "mock-admin-password" not in document
    text = render_text(plans[stack])
    assert "appSecret: [secret]" in text
    if stack.startswith("aws-"):
        # On AWS the secrets are SSM parameters fetched at boot: the parameters' values are masked, user-data names none.
        assert 'APP_SECRET="' not in text and 'DATABASE_PASSWORD="' not in text
        assert text.count("value: [secret] (secret)") == 3, "the three SecureString parameters (the serving role's password, the master's, the app secret)"
    else:
        assert 'DATABASE_PASSWORD="[secret]"' in text and 'APP_SECRET="[secret]"' in text


def test_plan_shows_tree_options_cloud_init_and_outputs(plans):
    text = render_text(plans["prod"])
    assert "├─ immutable-web:fleet:AppFleet  fleet" in text
    assert "replace-on-changes [*], create-before-destroy" in text
    assert "options: protect" in text  # the prod database
    assert "#cloud-config" in text and "/etc/webapp/app.env" in text
    assert "url: https://www.example.com" in text


def actions(old, new) -> dict[str, str]:
    return {change.name: change.action for change in diff_plans(old, new)}


def test_version_bump_bakes_one_image_and_replaces_every_droplet(plans, plan_of):
    bumped = plan_of("staging", {"appVersion": "1.5.0"})
    assert actions(plans["staging"], bumped) == {
        "app-image-packer": "replace",
        "app-image-copy": "replace",  # the new image's regions are checked (Packer already copied it: a no-op)
        "fleet-0": "replace",
        "fleet-1": "replace",
        "fleet-gate-0-wait": "replace",
    }
    text = render_diff(plans["staging"], bumped)
    assert "create new, then delete old" in text and "base-image-packer" not in text


def test_env_change_replaces_the_fleet_and_bakes_nothing(plans, plan_of):
    changed = plan_of("staging", {"env": ["LOG_LEVEL=info", "FEATURE_NEW_CHECKOUT=true"]})
    assert actions(plans["staging"], changed) == {"fleet-0": "replace", "fleet-1": "replace", "fleet-gate-0-wait": "replace"}


def test_fleet_count_two_to_three_creates_one_droplet(plans, plan_of):
    grown = plan_of("staging", {"fleetCount": 3})
    assert actions(plans["staging"], grown) == {"fleet-2": "create", "fleet-gate-0-wait": "replace"}


def test_dns_only_change_updates_only_the_record(plans, plan_of):
    assert actions(plans["prod"], plan_of("prod", {"dnsTtl": 300})) == {"dns-record": "update"}


def test_region_change_is_flagged_as_refused_for_the_protected_database(plans, plan_of):
    text = render_diff(plans["prod"], plan_of("prod", {"region": "ams3"}))
    assert "database-cluster" in text and "PROTECTED: pulumi up will refuse this replacement" in text


def test_dependencies_are_in_the_document_as_sorted_urns(plans):
    resources = {r["name"]: r for r in plans["staging"]["resources"]}
    for resource in resources.values():
        assert resource["dependsOn"] == sorted(resource["dependsOn"]), resource["name"]
    names = lambda name: {urn.split("::")[-1] for urn in resources[name]["dependsOn"]}  # noqa: E731
    assert {"network-vpc", "database-user", "app-image-packer"} <= names("fleet-0")
    assert names("fleet-gate-0-wait") == {"fleet-0", "fleet-1", "load-balancer-lb"}


def test_secrets_are_masked_by_recorded_secretness_not_by_their_look():
    """A provider-made secret output with no telltale prefix is masked wherever it flows; a plain output is not."""
    options = {"protect": False, "delete_before_replace": False, "replace_on_changes": [], "retain_on_delete": False, "custom_timeouts": {}, "dependencies": []}
    user = Resource(
        "urn:u",
        "digitalocean:index/databaseUser:DatabaseUser",
        "user",
        None,
        True,
        {"name": "app"},
        set(),
        dict(options),
        outputs={"name": "app", "password": "hunter2", "role": "normal"},
        secret_outputs={"password"},
    )
    droplet = Resource("urn:d", "digitalocean:index/droplet:Droplet", "fleet-0", None, True, {"userData": "PASSWORD=hunter2\nROLE=normal", "tags": ["role:normal"]}, {"userData"}, dict(options))
    literal = Resource("urn:c", "command:local:Command", "cmd", None, True, {"create": "true", "environment": {"TOKEN": "abc"}}, {"environment"}, dict(options))
    run = StackRun("test", {"p:apiKey": "k-123", "p:size": "small"}, [user, droplet, literal], {"password": "hunter2", "size": "small"}, {"password"})
    document = plan_document(run, {"name": "p", "config": {}}, secret_keys=["p:apiKey"])
    inputs = {r["name"]: r["inputs"] for r in document["resources"]}
    assert "hunter2" not in json.dumps(document) and "k-123" not in json.dumps(document)
    assert inputs["fleet-0"]["userData"] == "PASSWORD=[secret]\nROLE=normal"
    assert inputs["cmd"]["environment"] == "[secret]"  # a secret with no known secret value in it: masked whole
    assert document["config"] == {"p:apiKey": "[secret]", "p:size": "small"}
    assert document["outputs"] == {"password": "[secret]", "size": "small"}


def resource_of(plan, name):
    return next(r for r in plan["resources"] if r["name"] == name)


def with_changes(plan, name, *, inputs=None, options=None, removed=False):
    """A copy of ``plan`` with one resource's inputs or options changed, or the resource removed."""
    changed = copy.deepcopy(plan)
    if removed:
        changed["resources"] = [r for r in changed["resources"] if r["name"] != name]
        return changed
    resource = resource_of(changed, name)
    resource["inputs"].update(inputs or {})
    resource["options"].update(options or {})
    return changed


def test_unprotecting_the_prod_database_is_an_update_that_says_so(plans, plan_of):
    unprotected = plan_of("prod", {"dbProtect": False})
    assert actions(plans["prod"], unprotected) == {"database-cluster": "update", "database-db": "update"}
    text = render_diff(plans["prod"], unprotected)
    assert "protect: true -> false (protect removed: it can now be deleted or replaced)" in text
    assert "protect: false -> true (protect added: pulumi up will refuse to delete or replace it)" in render_diff(unprotected, plans["prod"])


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("retainOnDelete", "retainOnDelete: false -> true (retain-on-delete added: a delete leaves it in the cloud)"),
        ("deleteBeforeReplace", "deleteBeforeReplace: false -> true (delete-before-replace added: a replacement deletes the old one first)"),
    ],
)
def test_option_changes_are_updates_with_their_effect(plans, option, expected):
    changed = with_changes(plans["staging"], "database-cluster", options={option: True})
    assert actions(plans["staging"], changed) == {"database-cluster": "update"}
    assert expected in render_diff(plans["staging"], changed)


def test_deleting_a_protected_resource_is_flagged_as_refused(plans):
    removed = with_changes(plans["prod"], "database-cluster", removed=True)
    [change] = diff_plans(plans["prod"], removed)
    assert (change.action, change.refused) == ("delete", True)
    text = render_diff(plans["prod"], removed)
    assert "PROTECTED: pulumi up will refuse to delete it" in text and "1 that pulumi up refuses (protected)" in text
    unprotected_delete = with_changes(plans["prod"], "dns-record", removed=True)
    assert "PROTECTED" not in render_diff(plans["prod"], unprotected_delete)


def test_unprotecting_and_replacing_in_one_update_is_allowed(plans):
    changed = with_changes(plans["prod"], "database-cluster", inputs={"engine": "mysql"}, options={"protect": False})
    [change] = diff_plans(plans["prod"], changed)
    assert (change.action, change.refused) == ("replace", False)
    assert "protect removed in the same update" in change.reason


def test_diff_shows_old_and_new_values_and_hides_secret_ones(plans, plan_of):
    text = render_diff(plans["prod"], plan_of("prod", {"dnsTtl": 300}))
    assert "ttl: 60 -> 300" in text
    changed = plan_of("staging", {"env": ["LOG_LEVEL=info", "FEATURE_NEW_CHECKOUT=true"]})
    text = render_diff(plans["staging"], changed)
    # The user-data's changed lines, from the masked documents: what changed shows, no secret does.
    assert 'userData: 2 changed lines\n               -    LOG_LEVEL="debug"\n               +    LOG_LEVEL="info"\n' in text, text
    assert TEST_SECRET_PREFIX not in text and MOCK_DB_PASSWORD_PREFIX not in text and 'APP_SECRET="[secret]"' not in text
    # A secret input masked whole shows only that it changed.
    before, after = (one_resource_plan("command:local:Command", {"environment": value}) for value in ("[secret]", "[secret] "))
    for plan in (before, after):
        plan["resources"][0]["secretInputs"] = ["environment"]
    assert diff_plans(before, after)[0].details == ("environment: [secret] -> [secret] (changed)",)


def test_aws_user_data_changes_show_the_decoded_lines(plans, plan_of):
    changed = plan_of("aws-staging", {"env": ["LOG_LEVEL=info", "FEATURE_NEW_CHECKOUT=true"]})
    text = render_diff(plans["aws-staging"], changed)
    assert '+    LOG_LEVEL="info"' in text and '-    LOG_LEVEL="debug"' in text, text


def test_version_bump_says_which_commands_will_run(plans, plan_of):
    text = render_diff(plans["staging"], plan_of("staging", {"appVersion": "1.5.0"}))
    assert "runs: packer init images/app && packer build -machine-readable -color=false -only=digitalocean.app images/app" in text
    assert "runs: health gate (python3 tools/health_gate.py" in text
    old_gate, new_gate = (resource_of(plan, "fleet-gate-0-wait")["inputs"]["create"] for plan in (plans["staging"], plan_of("staging", {"appVersion": "1.5.0"})))
    assert f"create: {old_gate} -> {new_gate}" in text, "long values whole: a reviewer checks the ids the gate waits for"
    assert "..." not in text


def provider_rules():
    for resource_type, rules in PROVIDER_REPLACES.items():
        for key, rule in rules.items():
            yield pytest.param(resource_type, key, rule, id=f"{resource_type.split(':')[-1]}.{key}")


def one_resource_plan(resource_type: str, inputs: dict) -> dict:
    options = {"protect": False, "deleteBeforeReplace": False, "replaceOnChanges": [], "retainOnDelete": False, "customTimeouts": {}}
    resource = {
        "urn": f"urn:pulumi:s::p::{resource_type}::r",
        "type": resource_type,
        "name": "r",
        "parent": None,
        "custom": True,
        "inputs": inputs,
        "secretInputs": [],
        "dependsOn": [],
        "options": options,
    }
    return {"schema": "immutable-web/plan/v1", "stack": "s", "resources": [resource]}


@pytest.mark.parametrize(("resource_type", "key", "rule"), list(provider_rules()))
def test_each_provider_force_new_input_is_a_replacement(resource_type, key, rule):
    old, new = ("old-value", "new-value") if rule is None else (True, False)
    [change] = diff_plans(one_resource_plan(resource_type, {key: old}), one_resource_plan(resource_type, {key: new}))
    assert change.action == "replace" and f"provider replaces on: {key}" in change.reason, (resource_type, key)


@pytest.mark.parametrize(
    ("resource_type", "key", "old", "new"),
    [
        ("digitalocean:index/droplet:Droplet", "ipv6", False, True),  # ForceNewIfChange: only true -> false
        ("digitalocean:index/databaseCluster:DatabaseCluster", "region", "nyc3", "ams3"),  # migrated in place
        ("digitalocean:index/droplet:Droplet", "size", "s-1vcpu-1gb", "s-2vcpu-4gb"),  # resized in place
        ("aws:ec2/amiCopy:AmiCopy", "tags", {"team": "web"}, {"team": "shop"}),  # tags: in place (@Tags(identifierAttribute="id"), ec2_ami_copy.go:27)
    ],
)
def test_inputs_the_provider_changes_in_place_are_updates(resource_type, key, old, new):
    [change] = diff_plans(one_resource_plan(resource_type, {key: old}), one_resource_plan(resource_type, {key: new}))
    assert change.action == "update", (resource_type, key)


# ---------------------------------------------------------------------------
# The command line, in-process: exit codes and messages, never a traceback.


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def test_cli_json_and_diff_round_trip(tmp_path, capsys):
    code, out, err = run_main(capsys, "--stack", "staging", "--json")
    assert code == 0, err
    (tmp_path / "old.json").write_text(out)
    plan = json.loads(out)
    plan["resources"] = [r for r in plan["resources"] if r["name"] != "fleet-1"]
    (tmp_path / "new.json").write_text(json.dumps(plan))
    code, out, err = run_main(capsys, "diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--markdown")
    assert code == 0, err
    assert "| `-` delete | `fleet-1` |" in out
    assert "0 to create, 0 to update, 0 to replace, 1 to delete" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read {path}: No such file or directory"),
        ("name = 'x'\n", "{path} is not JSON (Expecting value: line 1 column 1"),
        ("[]", "{path} is a JSON list, not a plan document"),
        ("{}", '{path} is not a plan document (no "schema": "immutable-web/plan/v1")'),
        ('{"schema": "immutable-web/plan/v1", "stack": "staging"}', '{path}: a plan document needs "resources" (list)'),
        ('{"schema": "immutable-web/plan/v1", "stack": "staging", "resources": [{"urn": "u"}]}', "{path}: resources[0] lacks type, name, custom, inputs, options"),
    ],
    ids=["missing", "not-json", "list", "empty-object", "no-resources", "bad-resource"],
)
def test_cli_diff_refuses_what_is_not_a_plan(tmp_path, capsys, plans, content, message):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(plans["staging"]))
    if content is not None:
        bad.write_text(content)
    for args in ([str(good), str(bad)], [str(bad), str(good)]):
        code, out, err = run_main(capsys, "diff", *args)
        assert (code, out) == (2, ""), err
        assert err.startswith("plan: " + message.format(path=bad)), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stack", "qa"], "unknown stack 'qa'; stacks: aws-prod, aws-staging, prod, staging"),
        (["--markdown"], "--markdown formats a diff: use it with --against REF"),
        (["--json", "--against", "HEAD"], "--json prints one plan and --against prints a diff"),
        (["diff", "only-one.json"], "the following arguments are required: new"),
    ],
)
def test_cli_usage_errors_exit_2_with_the_reason(capsys, args, message):
    code, out, err = run_main(capsys, *args)
    assert (code, out) == (2, "") and message in err, err


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.com", *args], check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    """A git repository whose HEAD is this working tree's files, after a commit that predates the program."""
    repo = tmp_path_factory.mktemp("repository")
    git(repo, "init", "-q")
    (repo / "README.md").write_text("before the program\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "before the program")
    files = git(PROJECT_DIR, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, files):
        source = PROJECT_DIR / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the program")
    return repo


@pytest.fixture
def in_repository(repository, monkeypatch):
    """Point the harness (stack files, `git worktree`) at ``repository``; its files equal this tree's."""
    monkeypatch.setattr(offline.stack_config, "PROJECT_DIR", repository)
    return repository


def test_cli_against_a_missing_revision_shows_gits_message(in_repository, capsys):
    code, out, err = run_main(capsys, "--stack", "staging", "--against", "no-such-branch")
    assert (code, out) == (2, "") and err.startswith("plan: --against no-such-branch: fatal: invalid reference: no-such-branch"), err


def test_cli_against_a_revision_before_the_program_says_so(in_repository, capsys):
    code, out, err = run_main(capsys, "--stack", "staging", "--against", "HEAD~1")
    assert (code, out) == (2, "") and "that revision has no Pulumi.yaml or __main__.py; it predates the program" in err, err


def test_cli_against_head_shows_no_changes_then_a_working_copy_change(in_repository, monkeypatch, capsys):
    # The plan of HEAD is built once (a worktree and a subprocess) and reused for the second diff.
    built: dict[tuple[str, str], dict] = {}
    real = plan_cli.plan_at_revision

    def plan_at_revision_once(stack, revision):
        if (stack, revision) not in built:
            built[stack, revision] = real(stack, revision)
        return built[stack, revision]

    monkeypatch.setattr(plan_cli, "plan_at_revision", plan_at_revision_once)
    code, out, err = run_main(capsys, "--stack", "staging", "--against", "HEAD")
    assert code == 0, err
    head = git(in_repository, "rev-parse", "--short=12", "HEAD").strip()
    assert out.splitlines()[:2] == [f"Offline plan diff for stack staging: HEAD ({head}) -> this working tree:", "  no changes"]
    assert out.splitlines()[-1] == "0 to create, 0 to update, 0 to replace, 0 to delete, 15 unchanged"

    stack_file = in_repository / "Pulumi.staging.yaml"
    stack_file.write_text(stack_file.read_text().replace("fleetCount: 2", "fleetCount: 3"))
    try:
        code, out, err = run_main(capsys, "--stack", "staging", "--against", "HEAD", "--markdown")
    finally:
        git(in_repository, "checkout", "--", "Pulumi.staging.yaml")
    assert code == 0, err
    assert "| `+` create | `fleet-2` |" in out and "1 to create, 0 to update, 1 to replace, 0 to delete" in out


def test_a_changed_timeout_option_is_shown(plans, plan_of):
    """customTimeouts is a mapping: an option whose value is not a flag is compared and shown too."""
    text = render_diff(plans["staging"], plan_of("staging", {"healthGateTimeout": 180}))
    assert "customTimeouts: " in text and "'create': '720s'" not in text and "300s" in text, text


def test_the_plan_shows_the_rollout_waves_of_droplets_in_order(plan_of):
    from offline.plan.waves import plan_waves

    canary = plan_of("prod", {"rollout": "canary"})
    assert [(wave.resources, wave.gate) for wave in plan_waves(canary)] == [(("fleet-0",), "fleet-gate-0-wait"), (("fleet-1", "fleet-2"), "fleet-gate-1-wait")]
    text = render_text(canary)
    assert "wave 1: droplet fleet-0 -> gate fleet-gate-0-wait: waits until this droplet (by id) answers healthy" in text
    assert "wave 2: droplets fleet-1, fleet-2 (after fleet-gate-0-wait passed) -> gate fleet-gate-1-wait: waits until these 2 droplets (by id)" in text
    batches = plan_of("staging", {"rollout": "batches", "rolloutBatchSize": 2, "fleetCount": 5})
    assert [wave.resources for wave in plan_waves(batches)] == [("fleet-0", "fleet-1"), ("fleet-2", "fleet-3"), ("fleet-4",)]


def test_on_aws_each_wave_is_an_auto_scaling_group_of_the_launch_template_and_its_gate(plans):
    from offline.plan.waves import plan_waves

    generation = plans["aws-prod"]["outputs"]["fleetGeneration"]
    waves = plan_waves(plans["aws-prod"])  # canary, 3 instances: 1, then 2
    assert [(w.resources, w.servers, w.template, w.gate, w.gate_expects, w.generation) for w in waves] == [
        (("fleet-0",), 1, "fleet-template", "fleet-gate-0-wait", 1, generation),
        (("fleet-1",), 2, "fleet-template", "fleet-gate-1-wait", 3, generation),
    ]
    text = render_text(plans["aws-prod"])
    assert "wave 1: auto-scaling group fleet-0, 1 instance of launch template fleet-template -> gate fleet-gate-0-wait" in text
    assert f"waits until 3 instances of generation {generation} (this wave's and the earlier waves') answer healthy" in text
    assert "old auto-scaling groups and their instances are deleted after the last gate" in text
    rollout = text[text.index("Rollout order") :]
    assert "droplet" not in rollout.split("Outputs:")[0], "AWS waves in AWS words"


def test_a_missing_promoted_image_is_a_clean_error(monkeypatch, capsys):
    """The program's own RunErrors (here: prod's image was never baked) print one line, no traceback."""
    monkeypatch.setattr(offline.runner, "_pinned_snapshot", lambda config: {})
    assert plan_cli.main(["--stack", "prod"]) == 2
    err = capsys.readouterr().err
    assert "plan: stack prod:" in err and "has not been baked" in err and "Traceback" not in err, err


@pytest.fixture(scope="module")
def next_checkout(tmp_path_factory):
    """This checkout plus an expand migration (0002), as the rehearsal's version bump deploys it."""
    return next_release(tmp_path_factory.mktemp("next-release"))


def test_a_version_bump_carrying_a_migration_says_so(plans, plan_of, next_checkout):
    bumped = build_plan("staging", {"appVersion": "1.5.0"}, main=next_checkout / "__main__.py")
    assert (plans["staging"]["outputs"]["schemaRevision"], bumped["outputs"]["schemaRevision"]) == ("0001", "0002")
    text = render_diff(plans["staging"], bumped)
    assert "~ schemaRevision: 0001 -> 0002" in text
    assert "schema migration: the new servers migrate the database from 0001 to 0002 at start, before their gate passes" in text
    assert "**Schema migration: the new servers migrate the database from 0001 to 0002" in render_diff(plans["staging"], bumped, markdown=True)
    # The same bump without a migration says nothing about the schema.
    plain = render_diff(plans["staging"], plan_of("staging", {"appVersion": "1.5.0"}))
    assert "schemaRevision" not in plain and "schema migration" not in plain


def test_a_promoting_stack_claims_no_schema_revision(plans):
    # prod runs the image staging baked; the migrations in this checkout need not be that image's.
    assert "schemaRevision" not in plans["prod"]["outputs"]


def test_migrations_that_are_not_one_line_stop_the_program_before_any_resource(tmp_path):
    broken = next_release(tmp_path / "release", EXPAND_0002.replace('down_revision = "0001"', "down_revision = None"))
    with pytest.raises(MigrationSourceError, match=r"0001 \(.*0001_page_views.py\), 0002 \(.*0002_next.py\) all follow the empty schema"):
        build_plan("staging", main=broken / "__main__.py")


def test_a_previous_app_secret_is_masked_and_replaces_every_droplet(plans):
    rotating = build_plan("staging", secrets={"appSecretPrevious": "old-secret-in-rotation"})
    assert "old-secret-in-rotation" not in json.dumps(rotating) and TEST_SECRET_PREFIX not in json.dumps(rotating)
    text = render_text(rotating)
    assert 'APP_SECRET_PREVIOUS="[secret]"' in text and "appSecretPrevious: [secret]" in text
    assert actions(plans["staging"], rotating) == {"fleet-0": "replace", "fleet-1": "replace", "fleet-gate-0-wait": "replace"}


def test_on_aws_a_previous_app_secret_is_a_masked_second_parameter_and_a_new_generation():
    before = build_plan("aws-staging")
    rotating = build_plan("aws-staging", secrets={"appSecretPrevious": "old-secret-in-rotation"})
    assert "old-secret-in-rotation" not in json.dumps(rotating) and TEST_SECRET_PREFIX not in json.dumps(rotating)
    parameter = next(r for r in rotating["resources"] if r["name"] == "fleet-app-secret-previous")
    assert parameter["inputs"]["value"] == "[secret]" and "value" in parameter["secretInputs"]
    changed = actions(before, rotating)
    assert changed["fleet-app-secret-previous"] == "create" and changed["fleet-read-parameters"] == "update"
    assert changed["fleet-template"] == "replace" and changed["fleet-0"] == "replace", changed


# ---------------------------------------------------------------------------
# What a reviewer reads: run order, the rollout, capacity and cost, what cannot be undone.


def test_diff_lists_changes_in_run_order_the_bake_before_the_droplets_and_deletes_last(plans, plan_of):
    bumped = with_changes(plan_of("staging", {"appVersion": "1.5.0", "fleetCount": 3}), "dns-record", removed=True)
    names = [change.name for change in diff_plans(plans["staging"], bumped)]
    assert names.index("app-image-packer") < names.index("fleet-0") < names.index("fleet-gate-0-wait"), names
    assert names.index("app-image-packer") < names.index("fleet-2"), names
    text = render_diff(plans["staging"], bumped)
    assert text.index("replace app-image-packer") < text.index("replace fleet-0") < text.index("replace fleet-gate-0-wait")


def test_diff_deletes_come_last_dependents_first(plans):
    removed = with_changes(with_changes(plans["staging"], "database-cluster", removed=True), "database-user", removed=True)
    assert [change.name for change in diff_plans(plans["staging"], removed)] == ["database-user", "database-cluster"]


def test_diff_has_a_rollout_section_with_the_bake_the_wave_and_the_old_droplets_deletion(plans, plan_of):
    text = render_diff(plans["staging"], plan_of("staging", {"appVersion": "1.5.0"}))
    rollout = text[text.index("  rollout, in order:") :].splitlines()[1:4]
    assert rollout == [
        "    1. bake: app-image-packer (on a temporary builder, s-1vcpu-1gb, deleted when the image is saved)",
        "    2. wave 1: droplets fleet-0, fleet-1 -> gate fleet-gate-0-wait: waits until these 2 droplets (by id) answer healthy through the load balancer",
        "    3. then: the old droplets fleet-0, fleet-1 are deleted, once the last gate passed",
    ]
    dns_only = render_diff(plans["prod"], plan_of("prod", {"dnsTtl": 300}))
    assert "rollout, in order" not in dns_only and "capacity: 3 droplets throughout, none created or replaced" in dns_only, "no rollout when no server changes"


def test_aws_diff_rolls_out_auto_scaling_groups_in_waves(plans, plan_of):
    text = render_diff(plans["aws-prod"], plan_of("aws-prod", {"appVersion": "1.5.0", "imageSourceHash": "aaaaaaaaaaaa"}))
    assert "1. wave 1: auto-scaling group fleet-0, 1 instance of launch template fleet-template -> gate fleet-gate-0-wait" in text
    assert "2. wave 2: auto-scaling group fleet-1, 2 instances of launch template fleet-template (after fleet-gate-0-wait passed)" in text
    assert "3. then: the old auto-scaling groups fleet-0, fleet-1 and their instances are deleted, once the last gate passed" in text
    assert "capacity: peak 6 instances during the rollout (3 old + 3 new), 3 after it" in text


def test_diff_shows_peak_capacity_with_the_builder(plans, plan_of):
    text = render_diff(plans["staging"], plan_of("staging", {"appVersion": "1.5.0"}))
    assert "capacity: peak 4 droplets during the rollout (2 old + 2 new), 2 after it; the builder: 1 droplet (s-1vcpu-1gb) at a time for 1 bake, before the new droplets" in text
    grown = render_diff(plans["staging"], plan_of("staging", {"fleetCount": 3}))
    assert "capacity: peak 3 droplets during the rollout (2 old + 1 new), 3 after it" in grown and "builder" not in grown


def test_diff_shows_the_monthly_cost_before_and_after_at_list_prices(plans, plan_of):
    from do_stand_in.catalogue import DROPLET_SIZES
    from offline.plan.costs import DO_DATABASE_NODE_MONTHLY, DO_LOAD_BALANCER_NODE_MONTHLY

    droplet = DROPLET_SIZES["s-1vcpu-1gb"][4]
    base = DO_DATABASE_NODE_MONTHLY["db-s-1vcpu-1gb"] + DO_LOAD_BALANCER_NODE_MONTHLY
    text = render_diff(plans["staging"], plan_of("staging", {"fleetCount": 3}))
    assert f"cost: about ${base + 2 * droplet:,.2f} -> ${base + 3 * droplet:,.2f} a month at list prices" in text, text
    assert "**Cost:** about $" in render_diff(plans["staging"], plan_of("staging", {"fleetCount": 3}), markdown=True)


def test_aws_cost_counts_instances_database_balancer_and_endpoint():
    from offline.plan.costs import monthly_cost

    cost = monthly_cost(build_plan("aws-staging"))
    # t3.micro x2, db.t4g.micro single-AZ + 20 GB gp3, the ALB with 2 addresses, the SSM endpoint in 2 zones.
    expected = 730 * (2 * 0.0104 + 0.016 + 0.0225 + 2 * 0.005 + 2 * 0.01) + 20 * 0.115
    assert (round(cost.monthly, 2), cost.unpriced) == (round(expected, 2), ())


def test_a_size_the_price_table_lacks_is_named_not_counted(plans):
    changed = with_changes(plans["staging"], "fleet-0", inputs={"size": "m-32vcpu-256gb"})
    assert "not in the price table, not counted: fleet-0 (m-32vcpu-256gb)" in render_diff(plans["staging"], changed)


def test_a_database_major_version_upgrade_is_flagged_as_irreversible(plans, plan_of):
    upgraded = plan_of("prod", {"dbVersion": "17"})
    [change] = [c for c in diff_plans(plans["prod"], upgraded) if c.name == "database-cluster"]
    assert change.action == "update" and any("PostgreSQL major version 16 -> 17: the upgrade cannot be undone" in what for what in change.irreversible)
    text = render_diff(plans["prod"], upgraded)
    assert "! CANNOT BE UNDONE: PostgreSQL major version 16 -> 17" in text and "that cannot be undone" in text.splitlines()[-1]
    assert "**Cannot be undone:**\n- `database-cluster`: PostgreSQL major version 16 -> 17" in render_diff(plans["prod"], upgraded, markdown=True)
    aws = render_diff(plans["aws-prod"], plan_of("aws-prod", {"dbVersion": "17"}))
    assert "database-postgres" in aws and "! CANNOT BE UNDONE: PostgreSQL major version 16 -> 17" in aws


def test_a_database_disk_grow_is_flagged_as_irreversible_and_a_minor_change_is_not(plans, plan_of):
    grown = render_diff(plans["aws-staging"], plan_of("aws-staging", {"dbStorageGb": 30}))
    assert "! CANNOT BE UNDONE: storage grows 20 -> 30: it cannot be shrunk again" in grown
    assert "CANNOT BE UNDONE" not in render_diff(plans["staging"], plan_of("staging", {"fleetCount": 3}))


def test_deleting_or_replacing_a_database_says_its_data_goes(plans):
    removed = render_diff(plans["staging"], with_changes(plans["staging"], "database-cluster", removed=True))
    assert "! CANNOT BE UNDONE: deleted: the data in it goes with it" in removed
    replaced = render_diff(plans["staging"], with_changes(plans["staging"], "database-cluster", inputs={"engine": "mysql"}))
    assert "! CANNOT BE UNDONE: replaced: the new one starts empty" in replaced


def test_changing_a_protected_resource_in_place_is_flagged(plans, plan_of):
    resized = render_diff(plans["prod"], plan_of("prod", {"dbSize": "db-s-4vcpu-8gb"}))
    assert "! CANNOT BE UNDONE: protected (protect marks what cannot be rebuilt) and changed in place" in resized


def test_cli_diff_of_two_stacks_is_refused_naming_both_or_flagged_when_asked(tmp_path, capsys, plans):
    staging, prod = tmp_path / "staging.json", tmp_path / "prod.json"
    staging.write_text(json.dumps(plans["staging"]))
    prod.write_text(json.dumps(plans["prod"]))
    code, out, err = run_main(capsys, "diff", str(staging), str(prod))
    assert (code, out) == (2, "") and f"plan: {staging} is a plan of stack staging and {prod} of stack prod" in err and "--across-stacks" in err, err
    code, out, err = run_main(capsys, "diff", str(staging), str(prod), "--across-stacks")
    assert code == 0, err
    assert out.startswith(f"Offline plan diff ACROSS STACKS, stack staging ({staging}) -> stack prod ({prod})"), out


def test_cli_diff_header_names_both_files(tmp_path, capsys, plans):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(plans["staging"]))
    code, out, err = run_main(capsys, "diff", str(old), str(old), "--markdown")
    assert code == 0 and out.startswith(f"### Offline plan diff for stack staging: {old} -> {old}\n"), out + err


def test_cli_help_lists_every_subcommand(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0
    assert "plan diff OLD.json NEW.json [--markdown] [--across-stacks]" in out and "--against REF" in out and "plan [--stack NAME] [--json]" in out
    code, out, _ = run_main(capsys, "diff", "--help")
    assert code == 0 and "--across-stacks" in out and "usage: plan diff" in out


def test_aws_user_data_is_shown_decoded(plans):
    text = render_text(plans["aws-staging"])
    assert "Cloud-init user-data (launch template fleet-template: every instance of every wave; decoded from base64; secrets masked):\n  #cloud-config\n" in text
    assert 'APP_SECRET_PARAMETER="/immutable-web/aws-staging/app-secret"' in text
    import base64

    decoded = base64.b64decode(resource_of(plans["aws-staging"], "fleet-template")["inputs"]["userData"]).decode()
    assert f"userData: <{len(decoded.splitlines())} lines, base64, shown decoded below>" in text
    assert resource_of(plans["aws-staging"], "fleet-template")["inputs"]["userData"] not in text, "not the base64 itself"


def test_a_secret_inside_base64_user_data_is_masked():
    """Base64 hides a secret from a search of the text: the document masks the decoded text and encodes it again."""
    import base64

    options = {"protect": False, "delete_before_replace": False, "replace_on_changes": [], "retain_on_delete": False, "custom_timeouts": {}, "dependencies": []}
    encoded = base64.b64encode(b"#cloud-config\nPASSWORD=hunter2\nROLE=web\n").decode()
    template = Resource("urn:t", "aws:ec2/launchTemplate:LaunchTemplate", "fleet-template", None, True, {"userData": encoded}, set(), dict(options))
    run = StackRun("test", {"p:password": "hunter2"}, [template], {}, set())
    document = plan_document(run, {"name": "p", "config": {}}, secret_keys=["p:password"])
    user_data = document["resources"][0]["inputs"]["userData"]
    assert base64.b64decode(user_data).decode() == "#cloud-config\nPASSWORD=[secret]\nROLE=web\n"
    assert "PASSWORD=[secret]" in render_text(document)
