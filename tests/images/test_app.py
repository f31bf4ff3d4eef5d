"""The sample app, run as the image runs it (Debian's python3 + python3-psycopg2) against a real PostgreSQL."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import require_tools
from postgres import LocalPostgres, available, wait_for
from webapp_process import APP, RunningApp, get, has_system_modules, request

sys.path.insert(0, str(APP.parent))
from app import CONNECT_TIMEOUT_SECONDS, HEALTH_MAX_AGE_SECONDS, HSTS_MAX_AGE_SECONDS, MAX_CONCURRENT_REQUESTS  # the app's own bounds, from its source

pytestmark = require_tools(present={"postgresql": available(), "python3-psycopg2 python3-alembic python3-cryptography": has_system_modules("psycopg2", "alembic", "cryptography")})


@pytest.fixture(scope="module")
def postgres():
    with LocalPostgres() as server:
        yield server


def test_healthz_is_200_with_version_and_hostname_when_the_database_answers(postgres):
    with RunningApp(postgres) as app:
        status, body = get(app.url + "/healthz")
    assert status == 200, body
    assert body["status"] == "ok" and body["database"] is True
    assert body["version"] == "1.4.2" and body["image"] == "hello-1.4.2-0123456789ab" and body["hostname"]


def test_wrong_password_is_503_and_never_logged(postgres):
    log_before = len(postgres.log_text())
    with RunningApp(postgres, ready=False, DATABASE_PASSWORD="wrong-password-xyz") as app:
        status, body = get(app.url + "/healthz")
        # The start-up loop has tried (and logged) at least once by then; the deep check above made the other attempt.
        assert wait_for(lambda: postgres.log_text()[log_before:].count("password authentication failed") >= 2, timeout=30)
        app.stop()
    assert status == 503 and body["database"] is False and body["status"] == "unhealthy"
    assert body["error"] == "OperationalError"
    assert "wrong-password-xyz" not in app.output and "s3cret-value" not in app.output and "wrong-password-xyz" not in json.dumps(body)
    # Why it is not ready, in the log (which ships off the server: a failed canary's reason outlives it).
    assert "database not reachable yet (OperationalError: " in app.output and "password authentication failed" in app.output, app.output


def test_database_down_is_503_then_recovers(postgres):
    with RunningApp(postgres) as app:
        assert get(app.url + "/healthz")[0] == 200
        postgres.stop()
        stopped = time.monotonic()
        try:
            # The deep check's answer is shared for at most a second: it sees the outage that soon.
            assert wait_for(lambda: get(app.url + "/healthz")[0] == 503, timeout=10)
            assert time.monotonic() - stopped < HEALTH_MAX_AGE_SECONDS + 2 * CONNECT_TIMEOUT_SECONDS + 1
        finally:
            postgres.start()
        # The probe's connection died with the server: the next check opens a new one at once.
        assert wait_for(lambda: get(app.url + "/healthz")[0] == 200, timeout=HEALTH_MAX_AGE_SECONDS + 2)


def test_many_clients_of_healthz_take_one_connection_and_page_keeps_answering():
    """40 anonymous clients of the public deep check at once, against a database with 10 connections.

    A check per request ran the database out of connections ("too many clients"), which starves `/`'s
    pool, new servers' start-up and the health gate: here one server's deep check holds one.
    """
    with LocalPostgres(max_connections=10) as small, RunningApp(small) as app:
        log_before = len(small.log_text())
        start = threading.Barrier(41)

        def health(_: int) -> tuple[int, dict]:
            start.wait(timeout=10)
            return get(app.url + "/healthz")

        with ThreadPoolExecutor(max_workers=40) as pool:
            answers = pool.map(health, range(40))
            start.wait(timeout=10)
            pages = [get(app.url + "/") for _ in range(5)]
            answers = list(answers)
        log = small.log_text()[log_before:]
        connections = int(small.sql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'hello' AND application_name = 'hello-1.4.2'"))
    assert "too many clients" not in log, log[-2000:]
    assert [status for status, _ in answers] == [200] * 40, [body for _, body in answers if body.get("status") != "ok"][:3]
    assert all(body["database_checked_seconds_ago"] <= HEALTH_MAX_AGE_SECONDS for _, body in answers)
    assert all(status == 200 and isinstance(body["views"], int) for status, body in pages), pages
    # The pool's (at most 4) and the probe's one: not one per request.
    assert connections <= 5, connections


def test_verify_full_with_the_clusters_ca_is_healthy(postgres):
    """What the product sends: sslmode=verify-full, sslrootcert = the CA that signed the server's certificate."""
    with RunningApp(postgres, DATABASE_SSLMODE="verify-full", DATABASE_SSLROOTCERT=str(postgres.ca_file)) as app:
        status, body = get(app.url + "/healthz")
    assert status == 200 and body["database"] is True, body


def test_a_server_certificate_from_another_ca_is_503(postgres, tmp_path):
    """An impostor's certificate (here: the real server's, but the app trusts another CA) fails the handshake."""
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k.pem"), "-out", str(other_ca), "-days", "1", "-subj", "/CN=other"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    log_before = len(postgres.log_text())
    with RunningApp(postgres, ready=False, DATABASE_SSLROOTCERT=str(other_ca)) as app:
        status, body = get(app.url + "/healthz")
    assert status == 503 and body["database"] is False and body["error"] == "OperationalError", body
    # The server saw the client reject its certificate during the handshake: not a password, not a timeout.
    log = postgres.log_text()[log_before:]
    assert "unknown ca" in log, log[-2000:]
    # ... and with the right CA the same app is healthy (the CA alone made the difference).
    with RunningApp(postgres) as app:
        assert get(app.url + "/healthz")[0] == 200


def test_verify_full_refuses_a_host_name_the_certificate_does_not_carry(postgres):
    """The cluster's CA signs every cluster's certificate: verify-full also checks it names the host asked for.

    libpq connects to 127.0.0.1 (PGHOSTADDR) but checks the certificate against DATABASE_HOST.
    """
    elsewhere = {"DATABASE_HOST": "other-cluster.db.invalid", "PGHOSTADDR": "127.0.0.1"}
    with RunningApp(postgres, ready=False, **elsewhere) as app:
        status, body = get(app.url + "/healthz")
    assert status == 503 and body["error"] == "OperationalError", body
    # verify-ca (the CA, not the name) passes the same connection: the host name made the difference.
    with RunningApp(postgres, DATABASE_SSLMODE="verify-ca", **elsewhere) as app:
        assert get(app.url + "/healthz")[0] == 200


def test_hello_and_404(postgres):
    with RunningApp(postgres) as app:
        status, body = get(app.url + "/")
        missing, _ = get(app.url + "/admin")
    assert status == 200 and "hello from hello 1.4.2" in body["message"] and body["environment"] == "test"
    assert missing == 404


def test_sigterm_stops_promptly_with_exit_0(postgres):
    app = RunningApp(postgres)
    start = time.monotonic()
    code = app.stop()
    assert code == 0 and time.monotonic() - start < 5
    assert "failing readiness" in app.output and "drained: no longer accepting" in app.output


def test_without_database_config_it_starts_and_reports_unhealthy(postgres):
    with RunningApp(postgres, ready=False, DATABASE_HOST="") as app:
        status, body = get(app.url + "/healthz")
    assert status == 503 and body["error"] == "NotConfigured"


def test_ready_only_after_the_database_answered_once(postgres, tmp_path):
    """A wrong password never becomes ready (the load balancer never sends it traffic); the right one does."""
    log_before = len(postgres.log_text())
    with RunningApp(postgres, ready=False, DATABASE_PASSWORD="wrong-password-xyz") as app:
        # Several connection attempts (the app retries every 2 s), each refused by the server.
        assert wait_for(lambda: postgres.log_text()[log_before:].count("password authentication failed") >= 2, timeout=20), postgres.log_text()[log_before:]
        status, body = get(app.url + "/readyz")
    assert status == 503 and body["status"] == "starting", body
    with RunningApp(postgres) as app:
        assert wait_for(lambda: get(app.url + "/readyz")[0] == 200, timeout=20)


def test_readiness_survives_a_database_restart_once_ready(postgres):
    with RunningApp(postgres) as app:
        assert wait_for(lambda: get(app.url + "/readyz")[0] == 200, timeout=20)
        postgres.stop()
        try:
            assert wait_for(lambda: get(app.url + "/healthz")[0] == 503, timeout=10), "the deep check sees the outage"
            assert get(app.url + "/readyz")[0] == 200, "readiness does not: the pool stays"
            assert get(app.url + "/")[0] == 200
        finally:
            postgres.start()


def test_identity_is_the_instance_id_cloud_init_reports(postgres, tmp_path):
    data = tmp_path / "instance-data.json"
    data.write_text(json.dumps({"v1": {"instance_id": "412345678", "local_hostname": "x"}}))
    with RunningApp(postgres, CLOUD_INIT_INSTANCE_DATA=str(data)) as app:
        assert get(app.url + "/healthz")[1]["instance"] == "412345678"
        assert get(app.url + "/readyz")[1]["instance"] == "412345678"
    with RunningApp(postgres, CLOUD_INIT_INSTANCE_DATA=str(tmp_path / "missing.json")) as app:
        assert get(app.url + "/healthz")[1]["instance"] is None, "no instance data: no identity, so no gate can count it"


def test_health_reports_the_fleet_generation_the_server_was_launched_as(postgres):
    """AWS user-data sets APP_GENERATION and the gate counts instances reporting it; DigitalOcean sets none: null."""
    with RunningApp(postgres, APP_GENERATION="3f9d2c1e5b7a") as app:
        status, body = get(app.url + "/healthz")
        hello = get(app.url + "/")[1]
    assert status == 200 and body["generation"] == "3f9d2c1e5b7a" and hello["generation"] == "3f9d2c1e5b7a", body
    with RunningApp(postgres) as app:
        assert get(app.url + "/healthz")[1]["generation"] is None
        assert get(app.url + "/")[1]["generation"] is None


def test_sigterm_drains_serving_but_not_ready_then_exits(postgres):
    with RunningApp(postgres, APP_DRAIN_SECONDS="2") as app:
        assert wait_for(lambda: get(app.url + "/readyz")[0] == 200, timeout=20)
        start = time.monotonic()
        app.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert get(app.url + "/readyz")[1]["status"] == "draining" and get(app.url + "/readyz")[0] == 503
        assert get(app.url + "/")[0] == 200, "still serving while the load balancer notices"
        code = app.process.wait(timeout=20)
        elapsed = time.monotonic() - start
    assert code == 0 and 2 <= elapsed < 10, elapsed


def app_connections(postgres) -> int:
    """Connections the app (application_name hello-<version>) holds open now."""
    return int(postgres.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hello-1.4.2'").strip())


def test_a_connection_the_database_closed_while_idle_is_replaced_and_the_view_still_counted(postgres):
    with RunningApp(postgres) as app:
        status, first = get(app.url + "/")
        assert status == 200 and isinstance(first["views"], int), first
        assert wait_for(lambda: app_connections(postgres) >= 1, timeout=10), "the pool keeps its connection"
        # What a restart, a failover or an idle timeout does to a pooled connection.
        postgres.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hello-1.4.2'")
        status, second = get(app.url + "/")
    assert status == 200 and second["views"] == first["views"] + 1, (second, app.output)
    assert "retrying on a new one" in app.output and "page view not counted" not in app.output, app.output


def test_the_pages_connections_are_bounded_and_a_request_waits_for_one(postgres):
    """Requests beyond the pool's size wait for a connection instead of opening more (the database's limit is shared)."""
    size = 4  # images/webapp/app.py POOL_SIZE
    with RunningApp(postgres) as app:
        assert get(app.url + "/")[0] == 200  # the row exists
        # Hold the row: every `/` now blocks in its UPDATE, holding its connection.
        locker = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", "psql", "-h", str(postgres.root), "-p", str(postgres.port), "-U", "postgres", "-d", postgres.database, "-q"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert locker.stdin is not None
            locker.stdin.write("BEGIN; SELECT views FROM webapp.page_views WHERE path = '/' FOR UPDATE;\n")
            locker.stdin.flush()
            assert wait_for(lambda: postgres.sql("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'").strip() == "1", timeout=20)
            with ThreadPoolExecutor(max_workers=2 * size) as pool:
                # The pool's size first, each holding a connection; then as many more, which must wait (at most
                # the app's 5 s: sent only once the first hold theirs, so that a loaded machine's slow start
                # of the first ones is not counted against the wait).
                answers = [pool.submit(get, app.url + "/") for _ in range(size)]
                assert wait_for(lambda: app_connections(postgres) >= size, timeout=20), app_connections(postgres)
                answers += [pool.submit(get, app.url + "/") for _ in range(size)]
                # A second more, by the clock (each look is a psql run, slow on a loaded machine, and the
                # waiting requests give up after the app's 5 s): no request opens a fifth connection.
                seen, deadline = [app_connections(postgres)], time.monotonic() + 1
                while time.monotonic() < deadline:
                    time.sleep(0.1)
                    seen.append(app_connections(postgres))
                locker.stdin.write("COMMIT;\n")
                locker.stdin.flush()
                results = [answer.result(timeout=30) for answer in answers]
        finally:
            if locker.stdin:
                locker.stdin.close()
            locker.wait(timeout=20)
    assert max(seen) == size, seen
    counted = [body.get("views") for status, body in results if status == 200]
    assert len(counted) == 2 * size and None not in counted, (results, app.output)  # None: a view not counted (the app logs why)
    views = sorted(view for view in counted if view is not None)
    assert views == list(range(views[0], views[0] + 2 * size)), (results, app.output)


def test_a_ready_server_already_holds_a_connection_for_its_first_request(postgres):
    """The first requests a just-booted server gets (its CPU still busy) do not wait for a TLS handshake."""
    with RunningApp(postgres) as app:
        assert app_connections(postgres) == 1
        status, body = get(app.url + "/")
        assert status == 200 and isinstance(body["views"], int), body
        assert app_connections(postgres) == 1, "the first request used it"


# Short in tests (the app never takes a longer one than its default): the tests wait for it.
REQUEST_TIMEOUT = 2.0


def half_sent_requests(port: int, count: int) -> list[socket.socket]:
    """Connections that send a request line and one header, never the blank line that ends them."""
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        clients.append(client)
    return clients


def threads_of(pid: int) -> int:
    return int(next(line for line in open(f"/proc/{pid}/status") if line.startswith("Threads:")).split()[1])


def test_slow_clients_hold_a_bounded_number_of_threads_and_are_cut_at_the_request_timeout(postgres):
    with RunningApp(postgres, APP_REQUEST_TIMEOUT_SECONDS=str(REQUEST_TIMEOUT)) as app:
        clients = half_sent_requests(app.port, 300)
        try:
            time.sleep(1.0)  # every connection accepted, answered 503 or handed to a thread
            peak = threads_of(app.process.pid)
            # Every slow connection is closed by the server within the timeout (the read returns the end, or a 503).
            cut = time.monotonic()
            for client in clients:
                client.settimeout(REQUEST_TIMEOUT + 5)
                try:
                    while client.recv(4096):
                        pass
                except ConnectionResetError:
                    pass  # closed with our unread request in its buffer: a reset, as good as an end
            waited = time.monotonic() - cut
            assert get(app.url + "/readyz")[0] == 200
        finally:
            for client in clients:
                client.close()
    # The threads a few of the app's own (main, start-up, drain) beside the bounded request ones.
    assert peak <= MAX_CONCURRENT_REQUESTS + 8, peak
    assert waited < REQUEST_TIMEOUT + 2, waited


def test_a_client_trickling_its_headers_is_cut_at_the_request_timeout(postgres):
    """The socket timeout bounds each read; a byte every half second would reset it forever: the headers have a deadline."""
    with RunningApp(postgres, APP_REQUEST_TIMEOUT_SECONDS=str(REQUEST_TIMEOUT)) as app:
        client = socket.create_connection(("127.0.0.1", app.port), timeout=10)
        start = time.monotonic()
        try:
            client.sendall(b"GET / HTTP/1.1\r\n")
            with pytest.raises(OSError):
                for _ in range(60):  # 30 s of trickling, unless the server cuts it
                    client.sendall(b"X")
                    time.sleep(0.5)
            held = time.monotonic() - start
        finally:
            client.close()
    assert held < REQUEST_TIMEOUT + 3, held


def test_a_client_that_never_finishes_its_headers_does_not_hold_up_the_stop(postgres):
    """SIGTERM with a half-sent request open: drained and stopped within the drain window plus the request timeout, exit 0."""
    drain = 1.0  # a window in which the ordinary request below is accepted whatever the machine's load
    app = RunningApp(postgres, APP_REQUEST_TIMEOUT_SECONDS=str(REQUEST_TIMEOUT), APP_DRAIN_SECONDS=str(drain))
    clients = half_sent_requests(app.port, 3)
    in_flight = ThreadPoolExecutor(max_workers=1).submit(get, app.url + "/")  # an ordinary request at the same time
    try:
        start = time.monotonic()
        code = app.stop()
        stopped = time.monotonic() - start
    finally:
        for client in clients:
            client.close()
    assert code == 0 and stopped < drain + REQUEST_TIMEOUT + 3, (code, stopped, app.output[-2000:])
    assert in_flight.result(timeout=10)[0] == 200


def test_answers_to_https_clients_carry_hsts_and_plain_ones_do_not(postgres):
    """Neither load balancer sends HSTS: the app does, when the balancer says the client came over HTTPS."""
    with RunningApp(postgres) as app:
        for path in ("/", "/healthz", "/readyz", "/nope"):
            over_https = request(app.url + path, {"X-Forwarded-Proto": "https"})[2]
            plain = request(app.url + path)[2]
            assert over_https.get("Strict-Transport-Security") == f"max-age={HSTS_MAX_AGE_SECONDS}", (path, over_https)
            assert "Strict-Transport-Security" not in plain, (path, plain)
