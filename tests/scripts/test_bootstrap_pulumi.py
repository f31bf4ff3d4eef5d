"""scripts/bootstrap-pulumi: an installed CLI at or above the minimum, else the pinned build of toolchain/, cached.

Stand-ins on a minimal PATH play the machine: a `pulumi` that reports a version, a `go` that reports its
version and, asked to build, writes a `pulumi` that reports the pinned one (and logs that it was asked).
The real build is what tests/engine runs on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bootstrap-pulumi"
MINIMUM = re.search(r'^minimum="([0-9.]+)"', SCRIPT.read_text(), re.M).group(1)  # type: ignore[union-attr]
PINNED = re.search(r"github.com/pulumi/pulumi/pkg/v3 (v\S+)", (ROOT / "toolchain" / "go.mod").read_text()).group(1)  # type: ignore[union-attr]

FAKE_PULUMI = '#!/bin/sh\n[ "$1" = version ] && echo "{version}"\n'
# `go env GOVERSION`, `go list -m ...` (the pinned version), `go build ... -o DIR/ tool`.
FAKE_GO = """#!/bin/sh
echo "$*" >> "$HOME/go.log"
case "$1" in
  env) echo go{go_version} ;;
  list) echo {pinned} ;;
  build) while [ "$#" -gt 1 ]; do [ "$1" = -o ] && out=$2; shift; done
         printf '#!/bin/sh\\necho {pinned}\\n' > "${{out}}pulumi"; chmod +x "${{out}}pulumi" ;;
esac
"""


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def machine(tmp_path: Path, *, pulumi: str | None = None, go: str | None = None) -> dict[str, str]:
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir(parents=True)
    home.mkdir()
    for tool in ("sh", "sed", "head", "sort", "cat", "cut", "sha256sum", "dirname", "mkdir", "rm", "mv", "date", "du", "flock", "printf", "chmod"):
        if (found := shutil.which(tool)) is not None:
            (bin_dir / tool).symlink_to(found)
    if pulumi is not None:
        executable(bin_dir / "pulumi", FAKE_PULUMI.format(version=pulumi))
    if go is not None:
        executable(bin_dir / "go", FAKE_GO.format(go_version=go, pinned=PINNED))
    return {"HOME": str(home), "PATH": str(bin_dir)}


def bootstrap(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_an_installed_cli_at_the_minimum_is_used_with_its_own_plugins(tmp_path):
    env = machine(tmp_path, pulumi=f"v{MINIMUM}", go="1.26.8")
    result = bootstrap(env)
    assert result.returncode == 0 and result.stdout.strip() == env["PATH"], result.stderr
    assert not (tmp_path / "home" / "go.log").exists()  # nothing built


def test_an_older_cli_is_passed_over_and_the_pinned_one_built_once_then_reused(tmp_path):
    env = machine(tmp_path, pulumi="v3.100.0", go="1.26.8")
    first = bootstrap(env)
    assert first.returncode == 0, first.stderr
    assert "ignoring" in first.stderr and "3.100.0" in first.stderr and MINIMUM in first.stderr
    built = Path(first.stdout.strip())
    assert built.is_relative_to(tmp_path / "home" / ".cache" / "immutable-web" / "pulumi")
    assert subprocess.run([built / "pulumi"], capture_output=True, text=True).stdout.strip() == PINNED
    builds = [line for line in (tmp_path / "home" / "go.log").read_text().splitlines() if line.startswith("build")]
    assert len(builds) == 1 and f"version.Version={PINNED}" in builds[0] and builds[0].endswith(" tool")

    second = bootstrap(env)
    assert second.returncode == 0 and second.stdout.strip() == str(built), second.stderr
    assert len([line for line in (tmp_path / "home" / "go.log").read_text().splitlines() if line.startswith("build")]) == 1


def test_without_a_cli_or_a_recent_go_it_says_what_to_install(tmp_path):
    for go in (None, "1.19.8"):
        env = machine(tmp_path / (go or "none"), go=go)
        result = bootstrap(env)
        assert result.returncode == 1 and result.stdout == ""
        assert f"no Pulumi CLI >= {MINIMUM} on PATH" in result.stderr and "get.pulumi.com" in result.stderr, result.stderr
        assert f"found: {go or 'no go'}" in result.stderr, result.stderr
