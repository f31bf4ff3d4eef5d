"""The log shipping rule user-data hands rsyslog: checked by rsyslogd itself, and run against a real RELP receiver.

The oracle is Debian's rsyslogd (the one the image carries): ``-N1`` validates the
rendered rule as the server would load it, and a sender rsyslogd with that rule
ships a line to the receiver of tests/syslog_receiver.py (imrelp) over RELP and TLS.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from conftest import require_tools
from syslog_receiver import RSYSLOGD, SyslogReceiver, available, free_port

from components.common.cloud_init import render_user_data
from components.common.log_shipping import LOG_CA_PATH, RSYSLOG_CONFIG_FILENAME, SD_ID, LogDestination, log_shipping_summary, render_rsyslog_config
from offline.harness import MOCK_DATABASE_CA

needs_rsyslog = require_tools("openssl", "logger", present={"rsyslog-relp": available()})


def server_files(tmp_path: Path) -> dict[str, str]:
    """Stand-ins for the server's instance id, image.env, cloud-init log and first-boot key and certificate (the rule reads them at start)."""
    (tmp_path / "instance-id").write_text("i-0123456789abcdef0\n")
    (tmp_path / "image.env").write_text('APP_NAME="hello"\nAPP_VERSION="1.4.2"\nIMAGE_NAME="hello-1.4.2-0123456789ab"\n')
    (tmp_path / "cloud-init.log").write_text("")
    key, cert = tmp_path / "sender-key.pem", tmp_path / "sender-cert.pem"
    # What the base image's rsyslog-sender-key.service runs at first boot (images/scripts/base.sh).
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=sender"]
    subprocess.run([*command, "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return {
        "instance_id_path": str(tmp_path / "instance-id"),
        "image_env_path": str(tmp_path / "image.env"),
        "cloud_init_log": str(tmp_path / "cloud-init.log"),
        "sender_key_path": str(key),
        "sender_cert_path": str(cert),
    }


def sender_config(tmp_path: Path, rule: str) -> Path:
    """A whole rsyslogd config: its own work directory and log socket, then the rule as /etc/rsyslog.d would hold it."""
    (tmp_path / "sender").mkdir(exist_ok=True)
    (tmp_path / RSYSLOG_CONFIG_FILENAME).write_text(rule)
    config = tmp_path / "sender.conf"
    config.write_text(
        f"""global(workDirectory="{tmp_path / "sender"}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{tmp_path / "log.sock"}")
include(file="{tmp_path / RSYSLOG_CONFIG_FILENAME}")
"""
    )
    return config


def config_check(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([RSYSLOGD, "-N1", "-f", str(config)], capture_output=True, text=True, timeout=60)


@needs_rsyslog
@pytest.mark.parametrize("ca", [MOCK_DATABASE_CA, None], ids=["stack-ca", "trust-store"])
def test_rendered_rule_passes_rsyslogds_own_config_check(tmp_path, ca):
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(MOCK_DATABASE_CA)
    rule = render_rsyslog_config(LogDestination(host="logs.example.com", port=2514, ca=ca), **server_files(tmp_path))
    result = config_check(sender_config(tmp_path, rule.replace(LOG_CA_PATH, str(ca_file))))
    assert result.returncode == 0, result.stderr


@needs_rsyslog
def test_config_check_catches_a_broken_rule(tmp_path):
    """The check above can fail: a misspelt queue parameter is refused."""
    rule = render_rsyslog_config(LogDestination(host="logs.example.com", port=2514, ca=None), **server_files(tmp_path))
    result = config_check(sender_config(tmp_path, rule.replace("queue.maxDiskSpace", "queue.maxDiskSpaec")))
    assert result.returncode != 0 and "queue.maxDiskSpaec" in result.stderr


@contextmanager
def running_sender(tmp_path: Path, receiver: SyslogReceiver, port: int | None = None) -> Iterator[Callable[[str], None]]:
    """A sender rsyslogd with the rendered rule pointed at ``receiver`` (or at ``port`` on 127.0.0.1); yields a function that logs a line."""
    destination = LogDestination(host="localhost", port=port or receiver.port, ca=receiver.ca_certificate)
    (tmp_path / "log-ca.crt").write_text(receiver.ca_certificate)
    rule = render_rsyslog_config(destination, **server_files(tmp_path)).replace(LOG_CA_PATH, str(tmp_path / "log-ca.crt"))
    sender = subprocess.Popen([RSYSLOGD, "-n", "-f", str(sender_config(tmp_path, rule)), "-i", str(tmp_path / "sender.pid")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "log.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield lambda text: subprocess.run(["logger", "-u", str(tmp_path / "log.sock"), "-t", "webapp", text], check=True, timeout=10)
    finally:
        sender.terminate()
        sender.wait(timeout=30)


def ship_one_line(tmp_path: Path, receiver: SyslogReceiver, needle: str, wait: float) -> str | None:
    """Log ``needle`` through a sender with the rendered rule; the line the receiver got."""
    with running_sender(tmp_path, receiver) as log:
        log(needle)
        line, _ = receiver.wait_for(needle, timeout=wait)
        return line


@needs_rsyslog
def test_a_line_reaches_a_relp_receiver_carrying_the_servers_identity(tmp_path):
    with SyslogReceiver(tmp_path / "receiver", host_name="localhost") as receiver:
        line = ship_one_line(tmp_path, receiver, "GET / 200 shipped-line", wait=20)
    assert line is not None, f"nothing arrived; receiver got {receiver.lines()}"
    # RFC 5424, with the identity in structured data.
    assert line.startswith("<") and ">1 " in line, line
    assert f'[{SD_ID} instance="i-0123456789abcdef0" image="hello-1.4.2-0123456789ab" app="hello" version="1.4.2"]' in line, line
    assert line.endswith('version="1.4.2"] GET / 200 shipped-line'), line
    assert " webapp " in line, "the tag (APP-NAME) is kept"


@needs_rsyslog
@require_tools("socat")
def test_no_line_is_lost_when_the_receiver_drops_the_connection_and_returns(tmp_path):
    """RELP: what was written into the connection the receiver dropped is sent again, so nothing written during an outage is lost.

    The sender reaches the receiver through socat, one relay per connection, as a VM reaches it through
    its guest forward. Checked: the previous transport (omfwd, plain TCP syslog over TLS, to imtcp) lost
    the first line written after the receiver went away, in each of three runs of this scenario.
    """
    relay_port = free_port()
    with SyslogReceiver(tmp_path / "receiver", host_name="localhost") as receiver:
        # shut-none and -t 3: when the receiver goes, the relay keeps the sender's side open (and takes what is
        # written into it) for 3 s before closing, as a guest forward does; without that the sender sees the close at once.
        relay_command = ["socat", "-t", "3", f"TCP-LISTEN:{relay_port},bind=127.0.0.1,fork,reuseaddr,shut-none", f"TCP:127.0.0.1:{receiver.port}"]
        relay = subprocess.Popen(relay_command, stderr=subprocess.DEVNULL)
        try:
            with running_sender(tmp_path, receiver, port=relay_port) as log:
                log("before-the-outage")
                assert receiver.wait_for("before-the-outage", timeout=20)[0] is not None, "the connection is up before the outage"
                receiver.stop()
                lines = [f"during-the-outage-{n}" for n in range(20)]
                for line in lines:
                    log(line)
                    time.sleep(0.1)
                receiver.start()
                receiver.wait_for(lines[-1], timeout=60)
                lost = [line for line in lines if not any(line in received for received in receiver.lines())]
        finally:
            relay.terminate()
            relay.wait(timeout=10)
    assert lost == [], f"lost {len(lost)} of {len(lines)}: {lost}"


@needs_rsyslog
def test_a_receiver_whose_certificate_names_another_host_gets_nothing(tmp_path):
    """The destination's name is checked against its certificate: a receiver with a certificate for another name is refused.

    Watched until the receiver saw the sender break the session off in the TLS handshake (its log says "session
    broken"), at most the 5 s before the sender's next attempt (the rule's action.resumeInterval); nothing may have
    arrived by then. (Meanwhile the refused sender spins a CPU: the wait is cut short on what it waits for.)
    """
    with SyslogReceiver(tmp_path / "receiver", host_name="not-the-destination.test") as receiver, running_sender(tmp_path, receiver) as log:
        log_before = len(receiver.log_text())
        log("must-not-arrive")
        deadline = time.monotonic() + 5
        while "session broken" not in receiver.log_text()[log_before:] and time.monotonic() < deadline:
            time.sleep(0.05)
        arrived = [line for line in receiver.lines() if "must-not-arrive" in line]
    assert arrived == [], arrived


def test_user_data_writes_the_ca_and_hands_the_rule_to_cloud_inits_rsyslog_module():
    destination = LogDestination(host="logs.example.com", port=2514, ca=MOCK_DATABASE_CA)
    document = yaml.safe_load(render_user_data({"A": "1"}, database_ca=None, log_destination=destination))
    (ca,) = [f for f in document["write_files"] if f["path"] == LOG_CA_PATH]
    assert ca["permissions"] == "0644" and ca["content"] == MOCK_DATABASE_CA
    (rule,) = document["rsyslog"]["configs"]
    assert rule["filename"] == RSYSLOG_CONFIG_FILENAME and 'target="logs.example.com"' in rule["content"]
    assert "rsyslog" not in yaml.safe_load(render_user_data({"A": "1"}, database_ca=None)), "no destination, no rule"


def test_the_summary_says_where_logs_go_or_that_they_stay():
    assert log_shipping_summary(None).startswith("none: logs stay on each server")
    assert "logs.example.com:2514" in log_shipping_summary(LogDestination(host="logs.example.com", port=2514, ca=None))


@require_tools("cloud-init")
def test_user_data_with_a_log_destination_passes_cloud_init_schema(tmp_path):
    destination = LogDestination(host="logs.example.com", port=2514, ca=MOCK_DATABASE_CA)
    path = tmp_path / "user-data"
    path.write_text(render_user_data({"A": "1"}, database_ca=MOCK_DATABASE_CA, log_destination=destination))
    result = subprocess.run([shutil.which("cloud-init") or "cloud-init", "schema", "--config-file", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Valid cloud-config" in result.stdout, result.stdout + result.stderr
