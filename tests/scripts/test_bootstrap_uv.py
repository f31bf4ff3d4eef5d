"""scripts/bootstrap-uv: a uv of the pinned version, whatever python3 the machine has.

Stand-ins on a minimal PATH play the machine: a `uv` that reports a version,
and a `python3` that behaves like Debian's (pip refusing installs under PEP
668, or no pip at all). The real thing was run by hand on Debian 12's
python3 (see the commit message); the no-pip installer download needs the
network and is not run here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bootstrap-uv"
PINNED = "0.13.9"

FAKE_UV = '#!/bin/sh\necho "uv {version} (fake)"\n'

# Debian's python3: `-m pip` refused under PEP 668 unless --break-system-packages; a --user install
# puts uv in ~/.local/bin. Every call is logged.
FAKE_PYTHON3 = """#!/bin/sh
echo "$*" >> "$HOME/python3.log"
case "$*" in
  "-c import sys; sys.exit(sys.prefix == sys.base_prefix)") exit 1 ;;
  "-m pip --version") {pip} ;;
  *--break-system-packages*) mkdir -p "$HOME/.local/bin"; printf '#!/bin/sh\\necho "uv {version} (fake)"\\n' > "$HOME/.local/bin/uv"; chmod +x "$HOME/.local/bin/uv" ;;
  *) echo "error: externally-managed-environment" >&2; exit 1 ;;
esac
"""


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def machine(tmp_path: Path, *, uv_version: str | None = None, pip: bool = True) -> dict[str, str]:
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    home.mkdir()
    for tool in ("sh", "cut", "env", "mktemp", "rm", "dirname", "mkdir", "chmod", "printf", "cat"):
        if (found := shutil.which(tool)) is not None:
            (bin_dir / tool).symlink_to(found)
    if uv_version is not None:
        executable(bin_dir / "uv", FAKE_UV.format(version=uv_version))
    executable(bin_dir / "python3", FAKE_PYTHON3.format(pip="exit 0" if pip else 'echo "No module named pip" >&2; exit 1', version=PINNED))
    return {"HOME": str(home), "PATH": str(bin_dir)}


def bootstrap(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_a_pinned_uv_on_the_path_is_used_as_it_is(tmp_path):
    env = machine(tmp_path, uv_version=PINNED)
    result = bootstrap(env)
    assert result.returncode == 0 and result.stdout.strip() == f"{env['PATH']}/uv", result.stderr
    assert not (Path(env["HOME"]) / "python3.log").exists(), "nothing installed"


def test_pep_668_refusal_falls_back_to_a_user_install_that_overrides_it(tmp_path):
    env = machine(tmp_path, uv_version="0.4.0")  # an old uv on the PATH is not the pinned one
    result = bootstrap(env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{env['HOME']}/.local/bin/uv"
    installs = [line for line in (Path(env["HOME"]) / "python3.log").read_text().splitlines() if "install" in line]
    assert installs == [f"-m pip install -q --user uv=={PINNED}", f"-m pip install -q --user --break-system-packages uv=={PINNED}"]


def test_a_user_installed_uv_off_the_path_is_found_again(tmp_path):
    env = machine(tmp_path)
    assert bootstrap(env).returncode == 0
    (Path(env["HOME"]) / "python3.log").unlink()
    result = bootstrap(env)
    assert result.returncode == 0 and result.stdout.strip() == f"{env['HOME']}/.local/bin/uv"
    assert not (Path(env["HOME"]) / "python3.log").exists(), "nothing installed the second time"


def test_no_pip_and_no_downloader_says_what_to_install(tmp_path):
    result = bootstrap(machine(tmp_path, pip=False))
    assert result.returncode == 1 and "no pip" in result.stderr and "python3-pip" in result.stderr and result.stdout == ""
