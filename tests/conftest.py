"""Shared fixtures: the real program, run offline under Pulumi's mocks.

`offline.harness.run_program(stack, config_overrides=...)` runs `__main__.py`
with the real `Pulumi.<stack>.yaml` (secrets replaced by test secrets) and
returns every registered resource with its inputs, options and mocked
outputs. The session fixtures below cache the unmodified stacks, since most
tests only read them.

Tests that need an outside tool (packer, cloud-init, PostgreSQL, ...) declare it with
`require_tools(...)`: without the tool they skip on a developer's machine, and fail
under CI=true, where a silently skipped check would report green.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.mark.expression import Expression  # how pytest reads -m; no public equivalent

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Keep the bytecode of the tests (pytest's assertion rewriting) and of the program's modules between runs,
# even where PYTHONDONTWRITEBYTECODE is set (as on this project's machines): without it every parallel
# worker rewrites and compiles every test module again, about a second of CPU each on every run. The
# __pycache__ folders are ignored by git, so no image hash sees them (image_sources hashes what git
# tracks), and no bake ships them (app.sh installs the app's files by name).
sys.dont_write_bytecode = False

# The harness imports Pulumi (seconds): only where a program runs, not in every process that loads this file.
if TYPE_CHECKING:
    from offline.harness import StackRun

# The VM boot tests' shared fixtures (the baked app image, an operator's SSH key): tests/guests.py.
pytest_plugins = ["guests"]

DROPLET = "digitalocean:index/droplet:Droplet"
COMMAND = "command:local:Command"
FIREWALL = "digitalocean:index/firewall:Firewall"
LOAD_BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
DB_CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
DB_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
DNS_RECORD = "digitalocean:index/dnsRecord:DnsRecord"
CERTIFICATE = "digitalocean:index/certificate:Certificate"
DOMAIN = "digitalocean:index/domain:Domain"


MISSING_TOOLS = "missing_tools"
FAST_WORKERS_PER_CPU = 3


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def require_tools(*commands: str, present: Mapping[str, bool] | None = None) -> pytest.MarkDecorator:
    """A mark for a test (or `pytestmark`) that needs outside tools: skip without them, fail under CI=true.

    ``commands``: looked up on PATH; ``present``: other needs by what to install -> whether they are there
    (a PostgreSQL server, a Python module of the system's python3). ``./scripts/test`` installs them all.
    """
    missing = [name for name in commands if shutil.which(name) is None] + [name for name, there in (present or {}).items() if not there]
    reason = f"needs {', '.join(missing)} (./scripts/test installs it)"
    if missing and under_ci():
        return getattr(pytest.mark, MISSING_TOOLS)(reason=reason)
    return pytest.mark.skipif(bool(missing), reason=reason)


def skip_without(reason: str) -> None:
    """The same rule inside a test: skip, or fail under CI=true."""
    if under_ci():
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: `-n auto` (pyproject.toml's addopts) asks it how many workers
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """Run in parallel only when no slow test can be selected (`-m "not slow"`): the slow tests boot
    QEMU VMs that need the whole CPU, so a run that may include them (no -m, `-m slow`) runs them one
    after the other, in this process, as before.

    The fast tests mostly wait (for a real PostgreSQL, app, rsyslogd or moto server to answer, for a
    deadline the test sets): on 2 cores their CPU time was under half their summed duration, so one
    worker per CPU left the CPU idle. Three workers per CPU overlap those waits: on 2 idle cores, 29.4-29.7 s
    with six workers against 33.3-33.5 s with four, for about 4 s more CPU (one more worker's start-up each)."""
    mark_expression = config.option.markexpr
    if mark_expression and not Expression.compile(mark_expression).evaluate(lambda name, /, **kwargs: name == "slow"):
        return FAST_WORKERS_PER_CPU * len(os.sched_getaffinity(0))
    return 0


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers(MISSING_TOOLS):
        pytest.fail(f"CI=true: {mark.kwargs['reason']}", pytrace=False)


@pytest.fixture(scope="session")
def staging() -> StackRun:
    from offline.harness import run_program

    return run_program("staging")


@pytest.fixture(scope="session")
def prod() -> StackRun:
    from offline.harness import run_program

    return run_program("prod")


@pytest.fixture(scope="session")
def run_with() -> Callable[[str, dict[str, Any]], StackRun]:
    """``run_program(stack, config_overrides=...)``, run once per (stack, overrides) in a test process.

    For tests that only read a changed stack's run, as they read ``staging`` and ``prod``.
    """
    from offline.harness import run_program

    runs: dict[tuple[str, str], StackRun] = {}

    def run(stack: str, overrides: dict[str, Any]) -> StackRun:
        key = (stack, json.dumps(overrides, sort_keys=True))
        if key not in runs:
            runs[key] = run_program(stack, config_overrides=overrides)
        return runs[key]

    return run


def packer_runs(run: StackRun):
    return [r for r in run.of_type(COMMAND) if "packer" in str(r.inputs.get("create", ""))]


# The fast files that take longest (real servers started and stopped, deadlines run out), first: the
# parallel workers take whole files (`--dist loadfile`) in collection order (`--no-loadscope-reorder`,
# pyproject.toml; xdist would otherwise order files by their number of tests), and one of these taken
# last would run on alone while the other workers sit idle. The order of everything else is kept; a
# stale list costs only speed.
LONGEST_FIRST = (
    "tests/images/test_app.py",
    "tests/images/test_app_schema.py",
    "tests/images/test_fetch_secrets.py",
    "tests/test_plan.py",
    "tests/components/common/test_log_shipping.py",
    "tests/tools/test_health_gate.py",
    "tests/images/test_traffic.py",
    "tests/images/test_app_sessions.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
