"""The GitHub workflows shipped for the product's users pass actionlint (which also runs shellcheck on `run:` steps)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ACTIONLINT, "-no-color", *map(str, paths)], capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint comes with the dev dependencies (uv sync)")
def test_workflows_pass_actionlint():
    assert {p.name for p in WORKFLOWS} == {"pull-request.yml", "deploy-staging.yml", "promote-prod.yml"}
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint comes with the dev dependencies (uv sync)")
def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text((ROOT / ".github" / "workflows" / "pull-request.yml").read_text().replace("runs-on: ubuntu-24.04", "runs-on: ${{ matrix.nope }}", 1))
    assert actionlint(broken).returncode != 0


def test_prod_is_promoted_by_hand_and_never_bakes():
    promote = (ROOT / ".github" / "workflows" / "promote-prod.yml").read_text()
    assert "workflow_dispatch" in promote and "environment: production" in promote
    assert "setup-packer" not in promote, "prod must not install Packer: it promotes, it never bakes"
    pull_request = (ROOT / ".github" / "workflows" / "pull-request.yml").read_text()
    assert "plan --stack" in pull_request and "--against" in pull_request
