"""The user-data the program renders is valid cloud-config by cloud-init's own schema check, and writes only the env file."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from conftest import DROPLET, require_tools

from components.cloud_init import ENV_FILE_PATH, app_environment, render_env_file, render_user_data

CLOUD_INIT = shutil.which("cloud-init")


def cloud_init_schema(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "user-data"
    path.write_text(text)
    return subprocess.run([CLOUD_INIT, "schema", "--config-file", str(path)], capture_output=True, text=True, timeout=120)


@require_tools("cloud-init")
@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_rendered_user_data_passes_cloud_init_schema(stack, staging, prod, tmp_path):
    run = {"staging": staging, "prod": prod}[stack]
    for droplet in run.of_type(DROPLET):
        result = cloud_init_schema(tmp_path, droplet.inputs["userData"])
        assert result.returncode == 0, f"{droplet.name}: {result.stdout}{result.stderr}"
        assert "Valid cloud-config" in result.stdout


@require_tools("cloud-init")
def test_schema_check_catches_a_broken_document(tmp_path):
    """The check above can fail: a wrong type for permissions is refused."""
    broken = render_user_data({"A": "1"}).replace("permissions: '0600'", "permissions: 600")
    assert cloud_init_schema(tmp_path, broken).returncode != 0


def test_user_data_writes_only_the_env_file_mode_0600(staging):
    document = yaml.safe_load(staging.of_type(DROPLET)[0].inputs["userData"])
    assert list(document) == ["write_files"], "user-data must not install, run or change anything else"
    (entry,) = document["write_files"]
    assert entry["path"] == ENV_FILE_PATH and entry["permissions"] == "0600" and entry["owner"] == "root:root"


def test_env_values_are_quoted_for_systemd():
    text = render_env_file({"GREETING": 'say "hi" \\ bye', "PLAIN": "x"})
    assert text == 'GREETING="say \\"hi\\" \\\\ bye"\nPLAIN="x"\n'


def test_env_values_cannot_inject_lines():
    with pytest.raises(ValueError):
        render_env_file({"A": "1\nDATABASE_HOST=evil"})


def test_extra_env_cannot_override_what_the_program_sets():
    with pytest.raises(ValueError, match="DATABASE_PASSWORD"):
        app_environment(
            app_env="staging",
            app_port=8080,
            database_host="h",
            database_port=1,
            database_name="d",
            database_user="u",
            database_password="p",
            app_secret="s",
            drain_seconds=20,
            extra_env={"DATABASE_PASSWORD": "x"},
        )
