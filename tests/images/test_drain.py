"""Drain, without VMs: the real app behind real HAProxy, one server stopped under steady traffic.

The app processes run as the image runs them (Debian's python3 + psycopg2, a real
PostgreSQL); HAProxy checks readiness with the program's LoadBalancer inputs
(scaled down so the test takes seconds: interval 1 s, response timeout 1 s),
never retries, and the drain window is `components.common.serving.drain_seconds` of
those numbers. Stopping a server with SIGTERM, as systemd does when DigitalOcean
shuts a droplet down, must cost no request; the same stop with no drain window
must cost some (the test has teeth).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import require_tools
from postgres import LocalPostgres, available, free_port, wait_for

from components.common.serving import READINESS_PATH, drain_seconds

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "images" / "local"))

from haproxy import HealthCheckSettings, LocalLoadBalancer  # noqa: E402
from traffic import LoadGenerator  # noqa: E402

APP = ROOT / "images" / "webapp" / "app.py"
CHECK = HealthCheckSettings(path=READINESS_PATH, interval_seconds=1, timeout_seconds=1, healthy_threshold=2, unhealthy_threshold=2)
DRAIN = drain_seconds(check_interval_seconds=1, response_timeout_seconds=1, unhealthy_threshold=2)

pytestmark = [
    pytest.mark.slow,
    require_tools("haproxy", present={"postgresql": available(), "python3": Path("/usr/bin/python3").exists()}),
]


@pytest.fixture(scope="module")
def postgres():
    with LocalPostgres() as server:
        yield server


def start_app(postgres: LocalPostgres, instance: str, drain: int, tmp_path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    instance_data = tmp_path / f"instance-{instance}.json"
    instance_data.write_text(f'{{"v1": {{"instance_id": "{instance}"}}}}')
    env = {
        "PATH": os.environ["PATH"], "APP_NAME": "hello", "APP_VERSION": "1.4.2", "IMAGE_NAME": "hello-1.4.2-0123456789ab",
        "APP_PORT": str(port), "APP_BIND": "127.0.0.1", "APP_DRAIN_SECONDS": str(drain), "CLOUD_INIT_INSTANCE_DATA": str(instance_data),
        "DATABASE_HOST": "127.0.0.1", "DATABASE_PORT": str(postgres.port), "DATABASE_NAME": postgres.database,
        "DATABASE_USER": postgres.user, "DATABASE_PASSWORD": postgres.password,
        "DATABASE_SSLMODE": "verify-full", "DATABASE_SSLROOTCERT": str(postgres.ca_file),
    }  # fmt: skip
    process = subprocess.Popen(["/usr/bin/python3", "-I", str(APP)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, port


def stop_one_under_traffic(postgres: LocalPostgres, tmp_path: Path, drain: int):
    apps = [start_app(postgres, name, drain, tmp_path) for name in ("a", "b")]
    try:
        with LocalLoadBalancer(CHECK) as balancer:
            for name, (_, port) in zip("ab", apps, strict=True):
                balancer.add(name, "127.0.0.1", port)
            assert wait_for(lambda: set(balancer.states().values()) == {"UP"}, timeout=30), balancer.states()
            with LoadGenerator(balancer.url + "/", rate=40, max_seconds=120) as load:
                time.sleep(2)
                stopped_at = time.monotonic()
                apps[0][0].send_signal(signal.SIGTERM)
                exit_code = apps[0][0].wait(timeout=DRAIN + 30)
                stop_seconds = time.monotonic() - stopped_at
                state_at_exit = balancer.states()["a"]
                time.sleep(2)
            return load.result, exit_code, stop_seconds, state_at_exit
    finally:
        for process, _ in apps:
            process.kill()
            process.wait(timeout=10)


def test_a_draining_server_costs_no_request(postgres, tmp_path):
    traffic, exit_code, stop_seconds, state_at_exit = stop_one_under_traffic(postgres, tmp_path, DRAIN)
    print(f"\ndrain {DRAIN}s: {traffic.describe()}; the stopped server exited after {stop_seconds:.1f}s")
    assert exit_code == 0
    assert state_at_exit == "DOWN", "the balancer had taken the server out before it stopped accepting"
    assert traffic.failed == 0, traffic.describe()
    assert traffic.sent >= 40 * 4 and set(traffic.instances) == {"a", "b"}, traffic.describe()
    assert DRAIN <= stop_seconds < DRAIN + 10


def test_without_a_drain_window_requests_fail(postgres, tmp_path):
    """The same stop with APP_DRAIN_SECONDS=0: the balancer still routes to the stopped server for a while."""
    traffic, exit_code, _, _ = stop_one_under_traffic(postgres, tmp_path, 0)
    print(f"\nno drain: {traffic.describe()}")
    assert exit_code == 0
    assert traffic.failed > 0, traffic.describe()
