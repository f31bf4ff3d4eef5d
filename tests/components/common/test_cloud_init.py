"""The user-data the program renders is valid cloud-config by cloud-init's own schema check, and writes only the database CA and the env file."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from conftest import DROPLET, require_tools

from components.common.cloud_init import DATABASE_CA_PATH, ENV_FILE_PATH, MIGRATION_ENV_FILE_PATH, app_environment, aws_app_environment, migration_environment, render_env_file, render_user_data
from offline.harness import MOCK_DATABASE_CA

CLOUD_INIT = shutil.which("cloud-init")
CONNECTION = dict(app_env="staging", app_port=8080, database_host="h", database_port=1, database_name="d", database_user="u", database_password="p", app_secret="s", drain_seconds=20)


def cloud_init_schema(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "user-data"
    path.write_text(text)
    return subprocess.run([CLOUD_INIT, "schema", "--config-file", str(path)], capture_output=True, text=True, timeout=120)


@require_tools("cloud-init")
@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_rendered_user_data_passes_cloud_init_schema(stack, staging, prod, tmp_path):
    run = {"staging": staging, "prod": prod}[stack]
    # Each distinct document once (the droplets of a stack share theirs): cloud-init takes a second a run.
    droplets_by_user_data: dict[str, list[str]] = {}
    for droplet in run.of_type(DROPLET):
        droplets_by_user_data.setdefault(droplet.inputs["userData"], []).append(droplet.name)
    for user_data, names in droplets_by_user_data.items():
        result = cloud_init_schema(tmp_path, user_data)
        assert result.returncode == 0, f"{', '.join(names)}: {result.stdout}{result.stderr}"
        assert "Valid cloud-config" in result.stdout


@require_tools("cloud-init")
def test_schema_check_catches_a_broken_document(tmp_path):
    """The check above can fail: a wrong type for permissions is refused."""
    broken = render_user_data({"A": "1"}, database_ca=MOCK_DATABASE_CA).replace("permissions: '0600'", "permissions: 600")
    assert cloud_init_schema(tmp_path, broken).returncode != 0


def test_user_data_writes_only_the_database_ca_and_the_env_files_mode_0600(staging):
    document = yaml.safe_load(staging.of_type(DROPLET)[0].inputs["userData"])
    assert list(document) == ["write_files"], "user-data must not install, run or change anything else"
    ca, env, migration = document["write_files"]
    assert env["path"] == ENV_FILE_PATH and env["permissions"] == "0600" and env["owner"] == "root:root"
    assert migration["path"] == MIGRATION_ENV_FILE_PATH and migration["permissions"] == "0600" and migration["owner"] == "root:root"
    # Public, and readable by the app's sandboxed user; written before the env file.
    assert ca["path"] == DATABASE_CA_PATH and ca["permissions"] == "0644" and ca["owner"] == "root:root"
    assert ca["content"] == MOCK_DATABASE_CA, "the CA the provider's getDatabaseCa returned for the cluster"


def test_the_app_verifies_the_database_certificate_and_host_name():
    env = app_environment(**CONNECTION, extra_env={})
    assert env["DATABASE_SSLMODE"] == "verify-full" and env["DATABASE_SSLROOTCERT"] == DATABASE_CA_PATH


@pytest.mark.parametrize("name", ["DATABASE_SSLMODE", "DATABASE_SSLROOTCERT"])
def test_extra_env_cannot_weaken_the_database_tls(name):
    with pytest.raises(ValueError, match=name):
        app_environment(**CONNECTION, extra_env={name: "require"})


def test_the_migration_role_goes_in_a_root_only_file_of_its_own_never_in_the_apps():
    """The app's unit loads app.env (its process environment: /proc/self/environ); only webapp-migrate.service loads migration.env."""
    env = app_environment(**CONNECTION, extra_env={})
    user_data = yaml.safe_load(render_user_data(env, database_ca=MOCK_DATABASE_CA, migration_env=migration_environment(user="doadmin", password="admin-pw")))
    files = {entry["path"]: entry for entry in user_data["write_files"]}
    assert "admin-pw" not in files[ENV_FILE_PATH]["content"] and "DATABASE_MIGRATION" not in files[ENV_FILE_PATH]["content"]
    migration = files[MIGRATION_ENV_FILE_PATH]
    assert (migration["owner"], migration["permissions"]) == ("root:root", "0600")
    assert migration["content"] == 'DATABASE_MIGRATION_PASSWORD="admin-pw"\nDATABASE_MIGRATION_USER="doadmin"\n'
    assert MIGRATION_ENV_FILE_PATH not in {entry["path"] for entry in yaml.safe_load(render_user_data(env, database_ca=MOCK_DATABASE_CA))["write_files"]}
    with pytest.raises(ValueError, match="DATABASE_MIGRATION_PASSWORD"):
        app_environment(**CONNECTION, extra_env={"DATABASE_MIGRATION_PASSWORD": "x"})


@pytest.mark.parametrize("ca", ["", "not a certificate", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"])
def test_user_data_refuses_a_ca_that_is_not_a_pem_certificate(ca):
    with pytest.raises(ValueError, match="PEM"):
        render_user_data({"A": "1"}, database_ca=ca)


def test_a_ca_bundle_is_written_as_given():
    bundle = MOCK_DATABASE_CA + "\n" + MOCK_DATABASE_CA
    document = yaml.safe_load(render_user_data({"A": "1"}, database_ca=bundle))
    assert document["write_files"][0]["content"] == bundle


def test_env_values_are_quoted_for_systemd():
    text = render_env_file({"GREETING": 'say "hi" \\ bye', "PLAIN": "x"})
    assert text == 'GREETING="say \\"hi\\" \\\\ bye"\nPLAIN="x"\n'


def test_env_values_cannot_inject_lines():
    with pytest.raises(ValueError):
        render_env_file({"A": "1\nDATABASE_HOST=evil"})


def test_extra_env_cannot_override_what_the_program_sets():
    with pytest.raises(ValueError, match="DATABASE_PASSWORD"):
        app_environment(**CONNECTION, extra_env={"DATABASE_PASSWORD": "x"})


def test_the_previous_app_secret_is_handed_over_only_when_there_is_one():
    env = app_environment(**CONNECTION, extra_env={}, app_secret_previous="old-s")
    assert (env["APP_SECRET"], env["APP_SECRET_PREVIOUS"]) == ("s", "old-s")
    assert "APP_SECRET_PREVIOUS" not in app_environment(**CONNECTION, extra_env={}), "no rotation under way: no line"
    with pytest.raises(ValueError, match="APP_SECRET_PREVIOUS"):
        app_environment(**CONNECTION, extra_env={"APP_SECRET_PREVIOUS": "from-env"})


AWS_CONNECTION = dict(
    app_env="aws-staging",
    app_port=8080,
    database_host="h",
    database_port=1,
    database_name="d",
    database_user="u",
    database_password_parameter="/p/database-password",
    database_password_version=1,
    app_secret_parameter="/p/app-secret",
    app_secret_version=3,
    region="us-east-1",
    drain_seconds=20,
    extra_env={},
)


def test_on_aws_the_previous_app_secret_is_named_with_its_version_never_carried():
    env = aws_app_environment(**AWS_CONNECTION, app_secret_previous_parameter="/p/app-secret-previous", app_secret_previous_version=2)
    assert (env["APP_SECRET_PREVIOUS_PARAMETER"], env["APP_SECRET_PREVIOUS_VERSION"]) == ("/p/app-secret-previous", "2")
    assert not {"APP_SECRET", "APP_SECRET_PREVIOUS"} & set(env)
    assert not {name for name in aws_app_environment(**AWS_CONNECTION) if name.startswith("APP_SECRET_PREVIOUS")}
    with pytest.raises(ValueError, match="both a name and a version"):
        aws_app_environment(**AWS_CONNECTION, app_secret_previous_parameter="/p/app-secret-previous")
