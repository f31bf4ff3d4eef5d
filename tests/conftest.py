"""Shared fixtures: the real program, run offline under Pulumi's mocks.

`offline.harness.run_program(stack, config_overrides=...)` runs `__main__.py`
with the real `Pulumi.<stack>.yaml` (secrets replaced by test secrets) and
returns every registered resource with its inputs, options and mocked
outputs. The session fixtures below cache the unmodified stacks, since most
tests only read them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offline.harness import StackRun, run_program  # noqa: E402

DROPLET = "digitalocean:index/droplet:Droplet"
COMMAND = "command:local:Command"
FIREWALL = "digitalocean:index/firewall:Firewall"
LOAD_BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
DB_CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
DB_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
DNS_RECORD = "digitalocean:index/dnsRecord:DnsRecord"
CERTIFICATE = "digitalocean:index/certificate:Certificate"
DOMAIN = "digitalocean:index/domain:Domain"


@pytest.fixture(scope="session")
def staging() -> StackRun:
    return run_program("staging")


@pytest.fixture(scope="session")
def prod() -> StackRun:
    return run_program("prod")


def packer_runs(run: StackRun):
    return [r for r in run.of_type(COMMAND) if "packer" in str(r.inputs.get("create", ""))]
