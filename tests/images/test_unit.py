"""The app's systemd units (webapp.service, webapp-secrets.service): they verify in a file system laid out as the image lays it out, and it is hardened.

`systemd-analyze verify --root=ROOT` loads the unit as the image's systemd would: the
unit file's syntax, every directive's value, the units it names (targets), and that
`ExecStart=`'s program exists and is executable *in ROOT*. ROOT is built here the way
`images/scripts/app.sh` installs the app (unit in /etc/systemd/system, app in
/opt/webapp, python3, the `webapp` user, the baked image.env), on top of this
machine's systemd unit tree (Debian 12's systemd 252 here; the image's is Debian 13's 257).
What verify does not check: that `User=` exists and that the `EnvironmentFile=`s are
there at start; the slow boot test (`test_boot.py`) runs `systemd-analyze verify`
inside the booted image itself and checks the service running under its user.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require_tools

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "images" / "webapp" / "webapp.service"
SECRETS_UNIT = ROOT / "images" / "webapp" / "webapp-secrets.service"
MIGRATE_UNIT = ROOT / "images" / "webapp" / "webapp-migrate.service"
APP = ROOT / "images" / "webapp" / "app.py"
FETCHER = ROOT / "images" / "webapp" / "fetch_secrets.py"
HOST_UNITS = Path("/usr/lib/systemd/system")
FETCHER_DEADLINE_SECONDS = float(re.search(r"^DEADLINE_SECONDS = ([0-9.]+)$", FETCHER.read_text(), re.MULTILINE).group(1))
pytestmark = require_tools("systemd-analyze", present={"systemd (its unit tree)": (HOST_UNITS / "multi-user.target").exists()})


def image_like_root(root: Path, *, unit_text: str | None = None, secrets_unit_text: str | None = None, with_python: bool = True) -> Path:
    """A file system root holding what app.sh installs, over Debian's systemd unit tree."""
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    shutil.copytree(HOST_UNITS, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    (root / "lib").symlink_to("usr/lib")  # Debian 12's merged /usr
    (root / "usr" / "bin").mkdir()
    if with_python:
        shutil.copy2(Path("/usr/bin/python3").resolve(), root / "usr" / "bin" / "python3")
    # webapp-secrets.service's ExecCondition= (grep is Essential: in every Debian image).
    shutil.copy2(Path("/usr/bin/grep").resolve(), root / "usr" / "bin" / "grep")
    (root / "opt" / "webapp").mkdir(parents=True)
    shutil.copy2(APP, root / "opt" / "webapp" / "app.py")
    shutil.copy2(FETCHER, root / "opt" / "webapp" / "fetch_secrets.py")
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    (root / "etc" / "systemd" / "system" / "webapp.service").write_text(unit_text if unit_text is not None else UNIT.read_text())
    (root / "etc" / "systemd" / "system" / "webapp-secrets.service").write_text(secrets_unit_text if secrets_unit_text is not None else SECRETS_UNIT.read_text())
    (root / "etc" / "systemd" / "system" / "webapp-migrate.service").write_text(MIGRATE_UNIT.read_text())
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nwebapp:x:999:999::/nonexistent:/usr/sbin/nologin\n")
    (root / "etc" / "group").write_text("root:x:0:\nwebapp:x:999:\n")
    (root / "etc" / "webapp").mkdir()
    (root / "etc" / "webapp" / "image.env").write_text('APP_NAME="hello"\nAPP_VERSION="1.4.2"\nIMAGE_NAME="hello-1.4.2-0123456789ab"\n')
    return root


def verify(root: Path, unit: str = "webapp.service") -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", f"--root={root}", unit], capture_output=True, text=True, timeout=120)


def test_unit_verifies_in_an_image_like_root(tmp_path):
    result = verify(image_like_root(tmp_path / "root"))
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_migrate_unit_verifies_and_only_it_loads_the_owners_credentials(tmp_path):
    result = verify(image_like_root(tmp_path / "root"), "webapp-migrate.service")
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    assert "EnvironmentFile=/etc/webapp/migration.env" in MIGRATE_UNIT.read_text()
    assert "migration.env" not in "".join(line for line in UNIT.read_text().splitlines() if not line.startswith("#"))
    assert "DynamicUser=yes" in MIGRATE_UNIT.read_text(), "neither root nor the app's user"


def test_secrets_unit_verifies_in_an_image_like_root(tmp_path):
    result = verify(image_like_root(tmp_path / "root"), "webapp-secrets.service")
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_verify_fails_when_the_app_requires_a_secrets_unit_the_image_lacks(tmp_path):
    """webapp.service's Requires= is checked: without webapp-secrets.service installed, verify refuses it."""
    root = image_like_root(tmp_path / "root")
    (root / "etc" / "systemd" / "system" / "webapp-secrets.service").unlink()
    result = verify(root)
    assert result.returncode != 0 and "webapp-secrets.service" in result.stderr, result.stderr


def test_verify_reports_a_misspelt_directive_in_the_secrets_unit(tmp_path):
    broken = SECRETS_UNIT.read_text().replace("RemainAfterExit=yes", "RemainAfterExits=yes")
    result = verify(image_like_root(tmp_path / "root", secrets_unit_text=broken), "webapp-secrets.service")
    assert "Unknown key 'RemainAfterExits'" in result.stderr, result.stderr


def test_verify_fails_when_the_image_lacks_the_interpreter(tmp_path):
    """The check above has teeth: the same root without /usr/bin/python3 is refused."""
    result = verify(image_like_root(tmp_path / "root", with_python=False))
    assert result.returncode != 0 and "/usr/bin/python3 is not executable" in result.stderr, result.stderr


def test_verify_reports_a_misspelt_directive_or_value(tmp_path):
    """systemd ignores what it cannot parse (exit 0, a warning): the positive test therefore demands an empty stderr."""
    for wrong, warning in (("ProtectSytem=strict", "Unknown key 'ProtectSytem'"), ("ProtectSystem=strictly", "protect system value, ignoring: strictly")):
        broken = UNIT.read_text().replace("ProtectSystem=strict", wrong)
        root = tmp_path / wrong.split("=")[0] / wrong.split("=")[1]
        result = verify(image_like_root(root, unit_text=broken))
        assert warning in result.stderr, result.stderr


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_unit_is_hardened_and_runs_as_its_own_user():
    found = directives(UNIT.read_text())
    expected = {
        "User": ["webapp"],
        # Both baked/written files required (no leading '-'); the fetched password only where fetched.
        "EnvironmentFile": ["/etc/webapp/image.env", "/etc/webapp/app.env", "-/run/webapp/secrets.env"],
        "ConditionPathExists": ["/etc/webapp/app.env"],
        "Restart": ["on-failure"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "ProtectHome": ["yes"],
        "PrivateTmp": ["yes"],
        "PrivateDevices": ["yes"],
        "CapabilityBoundingSet": [""],
        "RestrictAddressFamilies": ["AF_INET AF_INET6 AF_UNIX"],
        "MemoryDenyWriteExecute": ["yes"],
        "WantedBy": ["multi-user.target"],
    }
    for key, values in expected.items():
        assert found.get(key) == values, f"{key}: {found.get(key)}"
    assert "cloud-init-network.service" in found["After"][0].split() and "network-online.target" in found["After"][0].split()
    assert found["SystemCallFilter"][0] == "@system-service"
    # No password, no app: the secrets unit must have succeeded, and finished, before the app starts.
    assert "webapp-secrets.service" in found["Requires"] and "webapp-secrets.service" in found["After"]


def test_secrets_unit_runs_once_before_the_app_and_is_hardened():
    found = directives(SECRETS_UNIT.read_text())
    expected = {
        "Type": ["oneshot"],
        "RemainAfterExit": ["yes"],
        "User": ["root"],
        "ExecStart": ["/usr/bin/python3 -I /opt/webapp/fetch_secrets.py"],
        "Before": ["webapp.service webapp-migrate.service"],
        "ConditionPathExists": ["/etc/webapp/app.env"],
        "RuntimeDirectory": ["webapp"],
        "RuntimeDirectoryMode": ["0700"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "CapabilityBoundingSet": [""],
        "PrivateUsers": ["yes"],
        "RestrictAddressFamilies": ["AF_INET AF_INET6 AF_UNIX"],
        "MemoryDenyWriteExecute": ["yes"],
    }
    for key, values in expected.items():
        assert found.get(key) == values, f"{key}: {found.get(key)}"
    assert "cloud-init-network.service" in found["After"][0].split() and "network-online.target" in found["After"][0].split()
    # Its deadline (the script's) fits inside the unit's start timeout.
    assert float(found["TimeoutStartSec"][0]) > FETCHER_DEADLINE_SECONDS


@pytest.mark.parametrize("unit", [UNIT, SECRETS_UNIT], ids=lambda unit: unit.name)
def test_every_directive_says_why(unit):
    """STYLE.md: units hardened *and commented*: each [Service] directive group has a comment above it."""
    lines = unit.read_text().splitlines()
    service = lines[lines.index("[Service]") + 1 : lines.index("[Install]") if "[Install]" in lines else len(lines)]
    uncommented = []
    for number, line in enumerate(service):
        if line and not line.startswith("#"):
            above = number - 1
            while above >= 0 and service[above] and not service[above].startswith("#"):
                above -= 1  # a run of related directives shares the comment above it
            if above < 0 or not service[above].startswith("#"):
                uncommented.append(line)
    assert not uncommented, uncommented


def exposure(unit: Path) -> float:
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


def test_security_exposure_is_low(tmp_path):
    """systemd's own score (0 = fully confined, 10 = exposed); printed, and `benchmarks/images.py` prints it too."""
    unit = tmp_path / "webapp.service"
    shutil.copy(UNIT, unit)
    score = exposure(unit)
    print(f"\nsystemd-analyze security --offline=true webapp.service: {score}")
    assert score <= 2.0
    secrets_unit = tmp_path / "webapp-secrets.service"
    shutil.copy(SECRETS_UNIT, secrets_unit)
    secrets_score = exposure(secrets_unit)
    print(f"systemd-analyze security --offline=true webapp-secrets.service: {secrets_score}")
    assert secrets_score <= 2.5  # root (without capabilities) and the network: a little above the app
    # The scorer reacts to the unit: the same unit without its sandboxing scores far worse.
    bare = tmp_path / "bare.service"
    bare.write_text("[Service]\nExecStart=/usr/bin/python3 -I /opt/webapp/app.py\n")
    assert exposure(bare) > 8.0
