"""What the VM boot tests share (a plugin of tests/conftest.py): the app image the staging stack names, baked
locally; a PostgreSQL a guest reaches through its forward; an operator's SSH key. (The stack itself is the session's `staging` fixture.)"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from postgres import LocalPostgres

if TYPE_CHECKING:  # the harness imports Pulumi: only where a program runs
    from offline.harness import StackRun

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "images" / "local"))

# Where a guest reaches the database: a per-connection guest forward to the local PostgreSQL's port.
GUEST_DATABASE = "10.0.2.100:5432"


@pytest.fixture(scope="module")
def image(staging: StackRun) -> Path:  # the session's `staging` fixture (tests/conftest.py)
    """The qcow2 of the app image the staging stack names (images/local/bake.py: baked now, or taken from the cache)."""
    from bake import bake

    layers = bake(app_version=staging.outputs["appVersion"], app_name="hello")
    assert layers["app"].name == staging.outputs["imageName"], "the local bake must produce the image the staging stack names"
    return layers["app"].qcow2


def guest_postgres(**options: str) -> LocalPostgres:
    """A PostgreSQL whose certificate names GUEST_DATABASE's address too (the guest's verify-full checks it)."""
    return LocalPostgres(user="hello", database="hello", host_names=("127.0.0.1", "localhost", GUEST_DATABASE.split(":")[0]), **options)


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An operator's key pair (the private key's path; the public key beside it, .pub)."""
    key = tmp_path_factory.mktemp("ssh") / "operator"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60)
    yield key


# Everywhere a credential could be left on a server: files, and every process's environment and command line.
CREDENTIAL_PLACES = "/etc /run /var /opt /tmp /home /srv /proc/[0-9]*/environ /proc/[0-9]*/cmdline"


def files_the_app_user_can_read_with(run: Callable[[str], str], secret: str) -> str:
    """The files under CREDENTIAL_PLACES that the app's user (``webapp``) can read and that hold ``secret``, one a line.

    ``run`` runs a shell command in the guest as root. The pattern comes from a file outside the places
    searched: on the command line, the search would find itself.
    """
    run(f"umask 022; printf '%s\\n' {secret} > /dev/shm/pattern")
    return run(f"runuser -u webapp -- sh -c 'grep -rlsF -f /dev/shm/pattern {CREDENTIAL_PLACES}; true'; rm -f /dev/shm/pattern")
