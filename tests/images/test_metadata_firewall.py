"""The base image's metadata firewall (images/scripts/base.sh writes /etc/nftables.conf), checked by nft and the kernel.

The ruleset is taken from base.sh itself (the quoted here-document it writes), so
what is checked is byte for byte what the image gets. `nft -c` parses it; then, in a
private network namespace of this machine (`unshare --net`, nothing outside it is
touched), the real kernel loads it in front of a stand-in metadata endpoint on
169.254.169.254: root fetches the user-data, another user is refused. The boot test
(tests/images/test_boot.py) checks the same inside the running image.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BASE_SCRIPT = Path(__file__).resolve().parents[2] / "images" / "scripts" / "base.sh"
NFT = shutil.which("nft")
needs_nft = pytest.mark.skipif(NFT is None, reason="needs nft (apt-get install nftables; scripts/test installs it)")


def ruleset() -> str:
    """The body of base.sh's `cat > /etc/nftables.conf <<'NFT' ... NFT`."""
    match = re.search(r"^cat > /etc/nftables\.conf <<'NFT'\n(.*?)^NFT$", BASE_SCRIPT.read_text(), re.MULTILINE | re.DOTALL)
    assert match, "base.sh no longer writes /etc/nftables.conf from a quoted here-document"
    return match.group(1)


def test_base_script_installs_nftables_and_loads_the_ruleset_at_boot():
    script = BASE_SCRIPT.read_text()
    assert re.search(r'^PACKAGES="[^"]*\bnftables\b', script, re.MULTILINE), "nftables must be among the packages the base needs"
    assert re.search(r"^systemctl enable (--quiet )?nftables\.service\b", script, re.MULTILINE), "nftables.service must load the ruleset at boot"
    assert "ip daddr 169.254.169.254 meta skuid != 0" in ruleset()


def test_the_app_starts_only_once_the_rule_is_loaded():
    unit = (BASE_SCRIPT.parents[1] / "webapp" / "webapp.service").read_text()
    assert re.search(r"^Requires=nftables\.service$", unit, re.MULTILINE) and re.search(r"^After=nftables\.service$", unit, re.MULTILINE)


@needs_nft
def test_ruleset_parses(tmp_path):
    rules = tmp_path / "nftables.conf"
    rules.write_text(ruleset())
    result = subprocess.run([NFT, "-c", "-f", str(rules)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@needs_nft
def test_nft_check_refuses_a_broken_ruleset(tmp_path):
    """The check above can fail."""
    rules = tmp_path / "nftables.conf"
    rules.write_text(ruleset().replace("meta skuid != 0", "meta skuid !=", 1))
    assert subprocess.run([NFT, "-c", "-f", str(rules)], capture_output=True, timeout=60).returncode != 0


FETCH = """
import urllib.request
try:
    print(urllib.request.urlopen("http://169.254.169.254/metadata/v1/user-data", timeout=5).read().decode().strip())
except OSError as error:
    print("refused:", getattr(error, "reason", error))
"""

# Runs as root inside `unshare --net`: a loopback stand-in for the metadata endpoint, the ruleset, two fetches.
NAMESPACE_SCRIPT = """set -eu
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
nft -f "$1/nftables.conf"
"$2" -m http.server --bind 169.254.169.254 --directory "$1/www" 80 >/dev/null 2>&1 &
server=$!
trap 'kill "$server"' EXIT
for _ in $(seq 50); do "$2" -c 'import socket; socket.create_connection(("169.254.169.254", 80), 1)' 2>/dev/null && break; sleep 0.1; done
echo "root: $("$2" -c "$3")"
echo "nobody: $(runuser -u nobody -- "$2" -c "$3")"
nft list chain inet metadata output
"""


# The system's interpreter: another user may run it (a virtualenv's may sit under root's home).
SYSTEM_PYTHON = "/usr/bin/python3"


def can_unshare_network() -> bool:
    if os.geteuid() != 0 or not Path(SYSTEM_PYTHON).exists() or shutil.which("unshare") is None or shutil.which("runuser") is None:
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30).returncode == 0


@needs_nft
@pytest.mark.skipif(not can_unshare_network(), reason="needs root and `unshare --net` (a private network namespace)")
def test_only_root_reaches_the_metadata_endpoint(tmp_path):
    (tmp_path / "nftables.conf").write_text(ruleset())
    (tmp_path / "www" / "metadata" / "v1").mkdir(parents=True)
    (tmp_path / "www" / "metadata" / "v1" / "user-data").write_text("stand-in user-data\n")
    result = subprocess.run(["unshare", "--net", "sh", "-c", NAMESPACE_SCRIPT, "sh", str(tmp_path), SYSTEM_PYTHON, FETCH], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "root: stand-in user-data" in result.stdout, result.stdout
    assert re.search(r"^nobody: refused:", result.stdout, re.MULTILINE), result.stdout
    # The rule refused it (its counter moved), not something else.
    assert re.search(r"ip daddr 169\.254\.169\.254 meta skuid != 0 counter packets [1-9]", result.stdout), result.stdout
