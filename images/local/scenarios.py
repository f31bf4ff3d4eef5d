"""The rollout rehearsal's chain of scenarios, shared by the slow test and the benchmark.

    from scenarios import run_chain
    results = run_chain(postgres)      # scenario name -> rehearsal.ScenarioResult

One generation's VMs are the next scenario's old fleet (a VM boot takes 40-90 s
under TCG), so the whole chain boots 2 + 2 + 2 + 2 + 1 VMs. Changes are stack
config overrides on top of the staging stack file, as a pull request would make.
The version bump deploys the next release (release.py): this checkout plus an
expand migration, so its canary migrates the live schema while the old fleet
writes the very table it alters; the release also raises the base's patch level
by a week, so the same rollout is a base change (both layers baked anew), as a
scheduled patch-level raise or a move to a new Debian release is.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bake import bake
from rehearsal import Rehearsal, ScenarioResult
from release import PROJECT_DIR, next_release

from components.common.patch_level import next_patch_level, patch_level_moment, read_patch_level
from offline.harness import run_program, stack_file

# On top of Pulumi.staging.yaml. The gate's timeout is the program's own setting (prod uses 900 too), sized for
# TCG boots of two VMs while two others serve traffic on a loaded 2-core machine (seen: 533 s).
REHEARSAL_CONFIG: dict[str, Any] = {"fleetCount": 2, "healthGateTimeout": 900}
NEXT_VERSION = "1.4.3"
BAD_CANARY_GATE_TIMEOUT = 180
DATABASE_DOWN_SECONDS = 5


def next_week(level: str) -> str:
    """The patch level a week after ``level``: what the weekly workflow would raise it to."""
    return next_patch_level(patch_level_moment(level) + timedelta(days=7))


def staging_env() -> list[str]:
    return list(stack_file("staging")["config"]["immutable-web:env"])


@dataclass(frozen=True)
class LogDestination:
    """A RELP receiver over TLS on this machine (tests/syslog_receiver.py) every server ships its logs to.

    The stack's `logDestination` is ``name:guest_port``; the guest reaches it through a forward from
    ``guest_address:guest_port`` to ``port`` here, and ``name`` resolves to ``guest_address`` (boot.with_host_names).
    """

    name: str
    port: int
    ca_certificate: str
    guest_address: str = "10.0.2.101"
    guest_port: int = 2514


def run_chain(postgres: Any, log: Callable[[str], None] = print, logs: LogDestination | None = None) -> dict[str, ScenarioResult]:
    """``logs``: ship every server's logs there (the stack's logDestination), so they outlive the servers."""
    with tempfile.TemporaryDirectory(prefix="next-release-") as folder:
        return _run_chain(postgres, next_release(Path(folder), patch_level=next_week(read_patch_level(PROJECT_DIR))), log, logs)


def _run_chain(postgres: Any, release: Path, log: Callable[[str], None], logs: LogDestination | None) -> dict[str, ScenarioResult]:
    version = run_program("staging").outputs["appVersion"]
    started = time.monotonic()
    baked = [bake(app_version=version, app_name="hello"), bake(app_version=NEXT_VERSION, app_name="hello", project_dir=release)]
    layers = [bake_layers["app"] for bake_layers in baked]
    described = ", ".join(f"{layers_of['app'].name} (base {layers_of['base'].name})" for layers_of in baked)
    log(f"rehearsal: images {described} ready after {time.monotonic() - started:.0f}s")
    images = {layer.name: layer.qcow2 for layer in layers}
    env = [entry for entry in staging_env() if not entry.startswith("LOG_LEVEL=")] + ["LOG_LEVEL=info"]
    results: dict[str, ScenarioResult] = {}

    def record(result: ScenarioResult) -> None:
        results[result.name] = result
        gates = ", ".join(f"{gate} {'passed' if passed else 'FAILED'} in {seconds:.0f}s" for gate, passed, seconds in result.gates)
        log(f"rehearsal: {result.name}: {result.traffic.describe()}; rollout {result.rollout_seconds:.0f}s; gates: {gates or '-'}; schema at {result.schema_revision}")

    base_config, forwards, names = dict(REHEARSAL_CONFIG), {}, {}
    if logs is not None:
        base_config.update(logDestination=f"{logs.name}:{logs.guest_port}", logDestinationCa=logs.ca_certificate)
        forwards, names = {f"{logs.guest_address}:{logs.guest_port}": logs.port}, {logs.name: logs.guest_address}
    with Rehearsal(stack="staging", images=images, postgres=postgres, base_config=base_config, guest_forwards=forwards, host_names=names) as rehearsal:
        record(rehearsal.deploy("first generation", {}))
        record(rehearsal.deploy("version bump", {"appVersion": NEXT_VERSION}, release=release))
        record(rehearsal.deploy("env-only change", {"env": env, "rollout": "canary"}))
        record(rehearsal.deploy("droplet size change", {"dropletSize": "s-1vcpu-2gb"}))
        record(rehearsal.deploy("bad canary", {"healthGateTimeout": BAD_CANARY_GATE_TIMEOUT}, database_password="not-the-password"))

        def restart_database() -> None:
            postgres.stop()
            time.sleep(DATABASE_DOWN_SECONDS)
            postgres.start()

        record(rehearsal.observe("database restart", restart_database))
    return results


STRATEGY = {"first generation": "all-at-once", "version bump": "all-at-once", "database restart": "-"}


def results_table(results: dict[str, ScenarioResult]) -> str:
    """One line per scenario: what the benchmark prints and the slow test logs."""
    header = ("scenario", "strategy", "sent", "failed", "views not written", "req/s", "longest silence s", "rollout s", "first new up s", "peak VMs", "gates", "schema")
    rows = []
    for name, result in results.items():
        first_up = f"{result.first_new_up_seconds:.0f}" if result.first_new_up_seconds is not None else "never"
        gates = " ".join(f"{'ok' if passed else 'FAIL'}:{seconds:.0f}s" for _, passed, seconds in result.gates) or "-"
        traffic = result.traffic
        row = (name, STRATEGY.get(name, "canary"), str(traffic.sent), str(traffic.failed), str(traffic.uncounted), f"{traffic.rate():.1f}", f"{traffic.longest_silence:.1f}")
        rows.append((*row, f"{result.rollout_seconds:.0f}", first_up, str(result.peak_vms), gates, str(result.schema_revision)))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in [header, *rows])
