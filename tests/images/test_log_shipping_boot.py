"""Logs that outlive the server: boot the baked app image and watch its journal arrive at a real RELP receiver.

The image is the one the staging stack bakes; its user-data is what the program
renders for staging with `logDestination` set to `logs.test:2514` and
`logDestinationCa` to the CA of a receiver started here (tests/syslog_receiver.py:
Debian's rsyslogd, imrelp over TLS, on 127.0.0.1). The guest reaches the receiver
only through a guest forward (10.0.2.101:2514, one socat per connection) and the
database through another, as tests/images/test_boot.py does.

One addition to the program's user-data, in the open: a `bootcmd` line mapping
`logs.test` to the forward's address in /etc/hosts. A real destination has a DNS
name; the guest here has no DNS (`-netdev user,restrict=on`), and the receiver's
certificate is checked against that name, so the name must resolve.

Stages: the app's request line arrives within seconds (the delay from the request
to the line at the receiver is printed); cloud-init's and the kernel's lines arrive
too; with the receiver down the server keeps serving, and every line written meanwhile
arrives when it returns (RELP: none lost, not even those written into the connection the
receiver had dropped); after the VM is killed, every line is still at the receiver.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import require_tools
from guests import GUEST_DATABASE, guest_postgres
from postgres import LocalPostgres
from postgres import available as postgres_available
from syslog_receiver import SyslogReceiver
from syslog_receiver import available as receiver_available

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "images" / "local"))

from boot import BootedImage, with_host_names  # noqa: E402

from components.common.log_shipping import SD_ID  # noqa: E402
from offline.harness import staging_user_data  # noqa: E402

TOOLS = ("packer", "qemu-system-x86_64", "qemu-img", "mmdebstrap", "genisoimage", "socat", "ssh-keygen")
pytestmark = [pytest.mark.slow, require_tools(*TOOLS, present={"postgresql": postgres_available(), "rsyslog-relp": receiver_available()})]

BOOT_TIMEOUT_SECONDS = 600
SHIP_TIMEOUT_SECONDS = 30  # "within seconds": the measured delay is printed, this only bounds the wait
CATCH_UP_TIMEOUT_SECONDS = 120  # rsyslog retries every 5 s, backing off; the queue then drains at once
GUEST_RECEIVER = "10.0.2.101:2514"
RECEIVER_NAME = "logs.test"


@pytest.fixture(scope="module")
def postgres():
    with guest_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    with SyslogReceiver(tmp_path_factory.mktemp("receiver"), host_name=RECEIVER_NAME) as server:
        yield server


def user_data_for(postgres: LocalPostgres, receiver: SyslogReceiver) -> str:
    host, port = GUEST_DATABASE.split(":")
    rendered = staging_user_data(
        database_host=host,
        database_port=int(port),
        database_user=postgres.user,
        database_password=postgres.password,
        database_name=postgres.database,
        database_ca=postgres.ca_certificate,
        config_overrides={"logDestination": f"{RECEIVER_NAME}:{GUEST_RECEIVER.split(':')[1]}", "logDestinationCa": receiver.ca_certificate},
    )
    assert "rsyslog" in yaml.safe_load(rendered), "the program rendered no log shipping rule"
    # The one local addition (see the module docstring): the destination's name resolves to the guest forward.
    return with_host_names(rendered, {RECEIVER_NAME: GUEST_RECEIVER.split(":")[0]})


@pytest.fixture(scope="module")
def server(image, postgres, receiver, staging):
    vm = BootedImage(
        image,
        user_data_for(postgres, receiver),
        hostname=staging.outputs["dropletNames"][0],
        guest_forwards={GUEST_DATABASE: postgres.port, GUEST_RECEIVER: receiver.port},
    )
    with vm:
        answer, _ = vm.wait_for_http("/healthz", BOOT_TIMEOUT_SECONDS, want_status=200)
        assert answer is not None, f"no healthy answer within {BOOT_TIMEOUT_SECONDS}s; console:\n{vm.console_text()[-3000:]}"
        yield vm


def test_the_apps_request_line_arrives_within_seconds_with_the_servers_identity(server, receiver, staging):
    # The shipper starts when cloud-init's rsyslog module has written the rule (rsyslog then sends what it
    # queued since): under TCG that can come after the app is healthy. Measured, then the steady-state delay.
    healthy = time.monotonic()
    first, seen = receiver.wait_for(f"[{SD_ID} ", BOOT_TIMEOUT_SECONDS)
    assert first is not None, f"no line from the server within {BOOT_TIMEOUT_SECONDS}s of it being healthy"
    print(f"\nfirst shipped line at the receiver {seen - healthy:.1f}s after /healthz was 200")
    marker = f"/shipped-{time.time_ns()}"
    sent = time.monotonic()
    server.http_get(marker)
    line, seen = receiver.wait_for(marker, SHIP_TIMEOUT_SECONDS)
    assert line is not None, f"{marker} did not arrive within {SHIP_TIMEOUT_SECONDS}s; receiver has {len(receiver.lines())} lines"
    print(f"\nshipped-log delay (request sent -> line at the receiver): {seen - sent:.2f}s")
    identity = f'[{SD_ID} instance="{server.instance_id}" image="{staging.outputs["imageName"]}" app="hello" version="{staging.outputs["appVersion"]}"]'
    assert identity in line, line
    assert f" {server.hostname} " in line, f"the host name is in the header: {line}"


def test_cloud_init_and_kernel_lines_are_shipped_too(server, receiver):
    lines = receiver.lines()
    assert any(" cloud-init " in line for line in lines), "no cloud-init line arrived"
    assert any(" kernel " in line for line in lines), "no kernel line arrived"


def test_with_the_receiver_down_the_server_keeps_serving_and_the_lines_arrive_when_it_returns(server, receiver):
    receiver.stop()
    markers = [f"/during-outage-{n}-{time.time_ns()}" for n in range(20)]
    try:
        for marker in markers:
            # Paths that touch no database (/readyz may still say "starting" this soon after boot: its
            # status is not the point): what is tested is that logging never makes the app wait.
            for path in (marker, "/readyz"):
                started = time.monotonic()
                answer = server.http_get(path)
                assert answer is not None and time.monotonic() - started < 3, f"{path}: the server stalled while the receiver was down"
        assert not any(markers[0] in line for line in receiver.lines())
    finally:
        receiver.start()
    back = time.monotonic()
    # RELP: the receiver acknowledges every line, and rsyslog sends again what was not acknowledged,
    # so even the lines written into the connection the receiver had already dropped (plain TCP syslog
    # lost the first one to three of them here) must arrive. Zero loss; a resent line may arrive twice.
    last, seen = receiver.wait_for(markers[-1], CATCH_UP_TIMEOUT_SECONDS)
    assert last is not None, f"{markers[-1]} never arrived after the receiver returned"
    deadline = time.monotonic() + SHIP_TIMEOUT_SECONDS  # the last line is in; give an earlier resend a moment
    while (lost := [marker for marker in markers if not any(marker in line for line in receiver.lines())]) and time.monotonic() < deadline:
        time.sleep(0.5)
    received = receiver.lines()
    duplicated = sum(max(0, sum(marker in line for line in received) - 1) for marker in markers)
    print(f"\ncaught up {len(markers) - len(lost)} of {len(markers)} buffered lines {seen - back:.1f}s after the receiver returned; lost: {len(lost)}, received twice: {duplicated}")
    assert lost == [], f"{len(lost)} of {len(markers)} lines written during the outage never arrived: {lost}"


def test_after_the_server_is_killed_its_lines_are_still_at_the_receiver(server, receiver):
    before = receiver.lines()
    server.kill()
    assert server.process is not None and server.process.poll() is not None, "the VM is gone"
    after = receiver.lines()
    assert after[: len(before)] == before and any("/shipped-" in line for line in after) and any("/during-outage-" in line for line in after)
