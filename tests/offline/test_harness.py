"""Stack files are read as the Pulumi CLI reads them: a broken file is a clear one-line error, never a traceback.

And the user-data helpers the VM boot tests stand on give what the program renders.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config.values import ConfigError
from offline import harness, plan, stack_config

ROOT = Path(__file__).resolve().parent.parent.parent

BROKEN_STACK_FILES = {
    "config-is-a-list": ("config:\n  - immutable-web:region: nyc3\n", "`config` must be a mapping of key: value, not a list"),
    "file-is-a-list": ("- config:\n    immutable-web:region: nyc3\n", "must be a mapping with a `config:` section, not a list"),
    "yaml-syntax": ("config:\n  immutable-web:region: [nyc3\n  immutable-web:appVersion: 1.4.2\n", "is not valid YAML: line 3"),
    "duplicate-key": (
        'config:\n  immutable-web:region: nyc3\n  immutable-web:appVersion: "1.4.2"\n  immutable-web:region: ams3\n',
        "line 4: key 'immutable-web:region' is given twice",
    ),
    "number-key": ("config:\n  123: nyc3\n", "config keys must be names like immutable-web:region; got 123"),
}


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project directory with the real Pulumi.yaml and staging stack, where a test adds stack files."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    shutil.copy(ROOT / "Pulumi.staging.yaml", tmp_path)
    monkeypatch.setattr(stack_config, "PROJECT_DIR", tmp_path)
    return tmp_path


@pytest.mark.parametrize("stack", sorted(BROKEN_STACK_FILES))
def test_a_broken_stack_file_is_a_config_error_naming_the_file_and_the_problem(project, stack):
    text, problem = BROKEN_STACK_FILES[stack]
    (project / f"Pulumi.{stack}.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        harness.stack_file(stack)
    [message] = caught.value.problems
    assert message.startswith(f"Pulumi.{stack}.yaml: ") and problem in message, message


@pytest.mark.parametrize("stack", sorted(BROKEN_STACK_FILES))
def test_plan_prints_a_broken_stack_file_without_a_traceback_and_exits_2(project, stack, capsys):
    text, problem = BROKEN_STACK_FILES[stack]
    (project / f"Pulumi.{stack}.yaml").write_text(text)
    assert plan.main(["--stack", stack]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"plan: stack {stack}: invalid stack configuration (1 problem(s)):\n  - Pulumi.{stack}.yaml: ")
    assert problem in err and "Traceback" not in err


@pytest.mark.parametrize("key", ["confg", "secretprovider"])
def test_plan_warns_of_a_top_level_key_the_cli_ignores_and_goes_on(project, key, capsys):
    """The CLI ignores a top-level key it does not read (tests/engine/test_config.py): so does the plan, out loud."""
    (project / "Pulumi.typo.yaml").write_text((project / "Pulumi.staging.yaml").read_text() + f"{key}:\n  immutable-web:region: ams3\n")
    assert plan.main(["--stack", "typo", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == f"plan: warning: Pulumi.typo.yaml: the Pulumi CLI ignores the top-level key(s) {key}; a stack file has only config, environment, secretsprovider, encryptedkey, encryptionsalt\n"
    assert '"region": "nyc3"' in out or "nyc3" in out


def test_the_committed_stack_files_load(project):
    assert harness.stack_file("staging")["config"]["immutable-web:region"] == "nyc3"


def test_the_plan_command_itself_exits_2_on_a_duplicate_key(tmp_path):
    # The real entry point in a copy of the project: what `uv run plan --stack dup` prints.
    for name in ("components", "offline"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(ROOT / name, tmp_path)
    text, problem = BROKEN_STACK_FILES["duplicate-key"]
    (tmp_path / "Pulumi.dup.yaml").write_text(text)
    result = subprocess.run([sys.executable, "-m", "offline.plan", "--stack", "dup"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert problem in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_aws_staging_user_data_is_the_launch_templates_with_the_database_where_the_test_puts_it():
    text = harness.aws_staging_user_data(database_host="10.0.2.100", database_port=5433, database_user="tester", database_name="testdb")
    assert text.startswith("#cloud-config\n")
    env_file, migration_file = yaml.safe_load(text)["write_files"]
    assert env_file["path"] == "/etc/webapp/app.env" and env_file["permissions"] == "0600"
    assert migration_file["path"] == "/etc/webapp/migration.env" and migration_file["permissions"] == "0600"
    env = dict(line.split("=", 1) for line in env_file["content"].splitlines())
    assert {name: env[name] for name in ("DATABASE_HOST", "DATABASE_PORT", "DATABASE_USER", "DATABASE_NAME")} == {
        "DATABASE_HOST": '"10.0.2.100"',
        "DATABASE_PORT": '"5433"',
        # The serving role the migration makes; the test's user is RDS's master, named in migration.env alone.
        "DATABASE_USER": '"hello_serving"',
        "DATABASE_NAME": '"testdb"',
    }
    assert 'DATABASE_MIGRATION_USER="tester"' in migration_file["content"].splitlines()
    assert env["DATABASE_PASSWORD_PARAMETER"] == '"/immutable-web/aws-staging/database-password"'
    assert env["APP_SECRET_PARAMETER"] == '"/immutable-web/aws-staging/app-secret"'
    # No secret: not the stack's test secrets, not a line for either value.
    assert "DATABASE_PASSWORD" not in env and "APP_SECRET" not in env and harness.TEST_SECRET_PREFIX not in text


@pytest.mark.parametrize("stack", stack_config.list_stacks())
def test_the_secrets_the_harness_sets_are_the_ones_the_stack_file_tells_its_operator_to_set(stack):
    """A test secret stands in for what the operator sets with `pulumi config set --secret`; the stack file says which."""
    document = stack_config.stack_file(stack)["config"]
    cloud = document.get("immutable-web:cloud", "digitalocean")
    text = (stack_config.PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text()
    told = set(re.findall(r"pulumi config set --secret (\w+) ", text))
    assert told == set(stack_config.OPERATOR_SECRETS[cloud]), f"Pulumi.{stack}.yaml tells its operator to set {sorted(told)}"
