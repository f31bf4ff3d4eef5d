"""The rollout rehearsal: `pulumi up` replayed on this machine with real VMs, HAProxy and steady traffic.

Named stages, chained so one scenario's new fleet is the next one's old fleet
(a VM boot takes 40-90 s under TCG): the first generation, then

1. a version bump (a new image of the next release, carrying an expand migration), all
   at once: its first server migrates the table every request writes while the old
   fleet writes it, and every request still counts its page view; the release also
   raises the base's patch level, so this is a base change too (both layers baked anew,
   as a weekly patch-level raise or a move to a new Debian release bakes them);
2. an env-only change (same image, same names), as a canary rollout: the gate
   must wait for the new instances, not the old ones answering under the same names;
3. a `dropletSize` change: a replacement, never an in-place resize;
4. a bad change (a wrong database password) as a canary: the canary fails its
   gate within the gate's timeout, the other droplet is never created, and the
   old fleet keeps serving;
5. a database restart under traffic: every server stays in the pool.

Every server ships its logs (the stack's `logDestination`) to a RELP receiver on
this machine, as test_log_shipping_boot.py does: once the chain is over and every VM
is gone, the failed canary's lines, saying why it never became ready, are still
there; a page view not written is shown with the servers' own words for it.

Each asserts 0 failed requests through the balancer, and that a returning visitor
(one client keeping its session cookie) keeps its session through every replacement. The steps come from the
program's own plans (images/local/rehearsal.py); `benchmarks/rollout.py` runs the
same chain and prints its figures.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest
from conftest import require_tools
from postgres import LocalPostgres, available
from syslog_receiver import SyslogReceiver
from syslog_receiver import available as receiver_available

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "images" / "local"))

from rehearsal import GUEST_DATABASE_HOST  # noqa: E402
from scenarios import REHEARSAL_CONFIG, LogDestination, results_table, run_chain  # noqa: E402

from components.common.log_shipping import SD_ID  # noqa: E402

# No stretch as long as a client's timeout (LoadGenerator's request_timeout) without a 200 from anyone. Not a
# throughput floor: requests per second depend on how loaded the machine is (benchmarks/rollout.py prints them).
LONGEST_SILENCE = 10.0

TOOLS = ("packer", "qemu-system-x86_64", "qemu-img", "mmdebstrap", "genisoimage", "haproxy", "socat")
pytestmark = [
    pytest.mark.slow,
    require_tools(*TOOLS, present={"postgresql": available(), "rsyslog-relp": receiver_available()}),
]
LOG_HOST = "logs.test"


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    with SyslogReceiver(tmp_path_factory.mktemp("receiver"), host_name=LOG_HOST) as server:
        yield server


@pytest.fixture(scope="module")
def results(request, receiver):
    logs = LogDestination(name=LOG_HOST, port=receiver.port, ca_certificate=receiver.ca_certificate)
    with LocalPostgres(user="hello", database="hello", host_names=("127.0.0.1", "localhost", GUEST_DATABASE_HOST)) as postgres:
        chain = run_chain(postgres, log=lambda line: print(line, flush=True), logs=logs)
        # The figures in every run's log (CI's too), not only when a test fails: pytest captures output otherwise.
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            print("\nrollout rehearsal:\n" + results_table(chain), flush=True)
        yield chain


def test_first_generation_serves(results):
    first = results["first generation"]
    assert first.succeeded and len(first.created) == REHEARSAL_CONFIG["fleetCount"], first
    assert first.traffic.ok > 0
    assert first.schema_revision == "0001", "the first servers migrated an empty database to this release's head"


@pytest.mark.parametrize("scenario", ["version bump", "env-only change", "droplet size change"])
def test_replacement_serves_every_request(results, receiver, scenario):
    result = results[scenario]
    assert result.succeeded, result.gates
    assert result.traffic.failed == 0, result.traffic.describe()
    assert result.traffic.longest_silence < LONGEST_SILENCE, result.traffic.describe()
    assert len(result.created) == REHEARSAL_CONFIG["fleetCount"] and len(result.deleted) == REHEARSAL_CONFIG["fleetCount"], result
    assert not result.went_down, f"serving servers left rotation before their delete: {result.went_down}"
    # The old fleet answered during the rollout, then only the new one did.
    assert len(result.traffic.instances) >= 2 * REHEARSAL_CONFIG["fleetCount"] - 1, result.traffic.instances
    # Every 200 wrote its page view: no request lost its write while the schema or the fleet changed.
    said = [line for line in receiver.lines() if "page view not counted" in line or "connection lost while idle" in line]
    assert result.traffic.uncounted == 0, result.traffic.describe() + "\nthe servers said:\n" + "\n".join(said[-20:])
    # The returning visitor was served by both generations and never lost its session.
    assert len(result.traffic.session_instances) > REHEARSAL_CONFIG["fleetCount"], result.traffic.describe()
    assert result.traffic.session_resets == 0, result.traffic.describe()


def test_version_bump_migrated_the_live_schema(results):
    assert results["version bump"].schema_revision == "0002", "the next release's canary ran its expand migration"
    assert results["droplet size change"].schema_revision == "0002"


def test_env_only_change_gate_waited_for_the_new_instances(results):
    result = results["env-only change"]
    assert [name for name, _, _ in result.gates] == ["fleet-gate-0-wait", "fleet-gate-1-wait"], "a canary then the rest"
    # Every gate took at least a boot: it did not pass on the old fleet's answers.
    assert all(seconds > 10 for _, _, seconds in result.gates), result.gates


def test_bad_canary_never_takes_traffic_and_the_old_fleet_stays(results):
    result = results["bad canary"]
    assert [passed for _, passed, _ in result.gates] == [False], result.gates
    assert result.created == ["fleet-0"] and result.never_created == ["fleet-1"], result
    assert result.deleted == [], "a failed update deletes nothing"
    assert result.schema_revision == "0002", "the schema is where the serving fleet left it"
    assert result.traffic.failed == 0, result.traffic.describe()
    assert result.first_new_up_seconds is None, "the canary never passed the balancer's readiness check"
    # It did boot: it answers, and refuses readiness because it never reached the database.
    assert list(result.refused.values()) == [(503, "starting")], result.refused
    assert not result.went_down, result.went_down


def test_database_restart_keeps_every_server_in_the_pool(results):
    result = results["database restart"]
    assert result.traffic.failed == 0, result.traffic.describe()
    assert not result.went_down, f"servers left the pool while the database restarted: {result.went_down}"
    assert result.traffic.ok > 0 and result.traffic.longest_silence < LONGEST_SILENCE, result.traffic.describe()


def test_the_failed_canarys_lines_outlive_it_and_say_why_it_never_became_ready(results, receiver):
    """Every VM is gone by now (the chain is over); what the canary logged is at the receiver, with its identity."""
    (instance,) = results["bad canary"].instances.values()
    lines = [line for line in receiver.lines() if f'[{SD_ID} instance="{instance}" ' in line]
    assert lines, f"no line from the failed canary (instance {instance}) at the receiver ({len(receiver.lines())} lines)"
    assert any("database not reachable yet" in line and "password authentication failed" in line for line in lines), lines[-20:]
