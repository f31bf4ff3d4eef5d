"""The real Pulumi CLI (scripts/bootstrap-pulumi: the pinned build of toolchain/), run on copies of the real project.

Set up as the README tells a user, with nothing of the user's touched: a local file backend and a
``PULUMI_HOME`` in a temporary directory, the passphrase secrets provider, automatic plugin
acquisition off, the committed stack files copied unchanged.

    def test_x(workspace):
        workspace.init("staging")                  # pulumi stack init, then each operator secret set --secret
        result = workspace.pulumi("preview", "--stack", "staging")
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, skip_without

from offline.stack_config import OPERATOR_SECRETS

# How far `pulumi preview` gets here: past every check of the stack's configuration, to the language
# host, which the Go module proxy does not serve (toolchain/go.mod says which modules it lacks).
NO_LANGUAGE_HOST = "failed to load language plugin python: no language plugin 'pulumi-language-python' found"
CLI_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="session")
def pulumi_bin() -> Path:
    """The directory holding the CLI; the first run on a machine builds it (minutes), later runs reuse it."""
    try:
        built = subprocess.run([str(ROOT / "scripts" / "bootstrap-pulumi")], capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        skip_without("scripts/bootstrap-pulumi did not finish in 30 minutes")
    if built.returncode != 0:
        skip_without(f"no Pulumi CLI: scripts/bootstrap-pulumi said: {built.stderr.strip().splitlines()[-1:]}")
    return Path(built.stdout.strip())


@dataclass
class Workspace:
    """A copy of the project in ``path`` with its own backend, home and passphrase."""

    path: Path
    bin_dir: Path
    passphrase: str = field(default_factory=lambda: secrets.token_hex(16))
    set_secrets: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        environment = {name: value for name, value in os.environ.items() if not name.startswith(("PULUMI_", "DIGITALOCEAN_", "AWS_"))}
        return environment | {
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(self.path / ".pulumi-home"),
            "PULUMI_BACKEND_URL": (self.path / ".state").as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "NO_COLOR": "1",
            # Were a DigitalOcean provider found, it would call a closed port here, never DigitalOcean.
            "DIGITALOCEAN_API_URL": "http://127.0.0.1:9",
            "DIGITALOCEAN_TOKEN": "dop_v1_not-a-token",
        }

    @property
    def has_language_host(self) -> bool:
        return shutil.which("pulumi-language-python", path=self.env["PATH"]) is not None

    def pulumi(self, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pulumi", "--non-interactive", *args], cwd=self.path, env=self.env, capture_output=True, text=True, input=input_text, timeout=CLI_TIMEOUT_SECONDS)

    def ok(self, *args: str, input_text: str | None = None) -> str:
        result = self.pulumi(*args, input_text=input_text)
        assert result.returncode == 0, f"pulumi {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        return result.stdout

    def init(self, stack: str) -> dict[str, str]:
        """`pulumi stack init`, then each secret the stack file tells its operator to set, as it says:
        `pulumi config set --secret KEY "$(openssl rand -hex 32)" --stack STACK` (the value on stdin here,
        so that it is in no process list). Returns the secrets set."""
        self.ok("stack", "init", stack)
        cloud = "aws" if stack.startswith("aws-") else "digitalocean"
        values = {key: secrets.token_hex(32) for key in OPERATOR_SECRETS[cloud]}
        for key, value in values.items():
            self.ok("config", "set", "--secret", key, "--stack", stack, input_text=value)
        self.set_secrets[stack] = values
        return values

    def stack_file(self, stack: str) -> Path:
        return self.path / f"Pulumi.{stack}.yaml"


@pytest.fixture
def workspace(tmp_path: Path, pulumi_bin: Path) -> Workspace:
    for path in [ROOT / "Pulumi.yaml", ROOT / "__main__.py", *ROOT.glob("Pulumi.*.yaml")]:
        shutil.copy(path, tmp_path)
    (tmp_path / ".state").mkdir()
    return Workspace(tmp_path, pulumi_bin)
