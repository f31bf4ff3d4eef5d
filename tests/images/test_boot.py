"""Boot the baked app image for real and check it like Serverspec/testinfra would.

The image is the one `images/local/bake.py` bakes with Packer's qemu source (the
same templates and scripts as the DigitalOcean and AWS sources). Its user-data is
exactly what the Pulumi program renders for the staging stack (through the mocks
harness), with the database outputs pointed at a real PostgreSQL started here; the
guest reaches it only through `guestfwd` (10.0.2.100:5432 -> 127.0.0.1:<port>), and
nothing else (`-netdev user,restrict=on`).

How the checks get inside: the same way an operator would, by SSH with a key that
arrives through *metadata* (NoCloud `public-keys`), as DigitalOcean delivers a
stack's `sshKeys` (the `sshKeys` config key); user-data is untouched. The image ships
no password, so a password login is refused (checked too).

Why this channel and not another:
- a serial-console login would need a password or an autologin baked into the
  image: the shipped image has neither, and must not get one for a test;
- a test-only `bootcmd`/`runcmd` would make the user-data differ from the program's;
- the qemu guest agent is not in the image (nothing the product does needs it);
- inspecting the stopped disk offline sees files (env file mode, sshd config) but not
  the runtime facts (the service's user, its sockets, what its systemd thinks of it).
SSH with a metadata key exercises a path the product really has (sshd, key-only,
root's keys from the datasource), adds nothing to the image, and lets the checks
ask the running guest. The only difference from staging is that the test's
metadata carries a key (staging sets no `sshKeys`, and its firewall keeps 22 shut).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import require_tools
from guests import GUEST_DATABASE, files_the_app_user_can_read_with, guest_postgres
from postgres import LocalPostgres, available

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "images" / "local"))

from boot import BootedImage  # noqa: E402

from components.common.patch_level import read_patch_level  # noqa: E402
from offline.harness import staging_user_data  # noqa: E402

TOOLS = ("packer", "qemu-system-x86_64", "qemu-img", "mmdebstrap", "genisoimage", "ssh", "ssh-keygen")
pytestmark = [
    pytest.mark.slow,
    require_tools(*TOOLS, present={"postgresql": available()}),
]

BOOT_TIMEOUT_SECONDS = 600  # TCG on a loaded 2-core machine; a healthy boot takes far less
READY_TIMEOUT_SECONDS = 120  # after /healthz answered 200: the start-up check's next successful attempt


# The cluster's admin, as on DigitalOcean: it owns the database, the serving user may not create in it.
ADMIN_USER, ADMIN_PASSWORD = "doadmin", "admin-only-7f3c9e1b2d"


@pytest.fixture(scope="module")
def postgres():
    with guest_postgres() as server:
        server.sql(f"CREATE ROLE {ADMIN_USER} LOGIN PASSWORD '{ADMIN_PASSWORD}'")
        server.sql(f"ALTER DATABASE {server.database} OWNER TO {ADMIN_USER}")
        server.sql(f"REVOKE CREATE ON SCHEMA public FROM {server.user}", server.database)
        yield server


def user_data_for(postgres: LocalPostgres, password: str) -> str:
    host, port = GUEST_DATABASE.split(":")
    return staging_user_data(
        database_host=host,
        database_port=int(port),
        database_user=postgres.user,
        database_password=password,
        database_name=postgres.database,
        database_ca=postgres.ca_certificate,
        admin_user=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
    )


@pytest.fixture(scope="module")
def server(image, postgres, ssh_key, staging):
    hostname = staging.outputs["dropletNames"][0]
    vm = BootedImage(
        image,
        user_data_for(postgres, postgres.password),
        hostname=hostname,
        ssh_public_keys=[ssh_key.with_suffix(".pub").read_text().strip()],
        ssh_private_key=ssh_key,
        guest_forwards={GUEST_DATABASE: postgres.port},
    )
    with vm:
        answer, seconds = vm.wait_for_http("/healthz", BOOT_TIMEOUT_SECONDS, want_status=200)
        vm.first_healthy = (answer, seconds)
        yield vm


def test_healthz_reports_the_baked_version_and_a_reachable_database(server, staging):
    answer, seconds = server.first_healthy
    assert answer is not None, f"no answer within {BOOT_TIMEOUT_SECONDS}s; console:\n{server.console_text()[-3000:]}"
    status, body = answer
    assert status == 200, body
    assert body["version"] == staging.outputs["appVersion"]
    assert body["image"] == staging.outputs["imageName"]
    assert body["hostname"] == staging.outputs["dropletNames"][0]
    assert body["database"] is True
    # Its identity as the cloud delivered it (NoCloud's instance-id here; the droplet id on DigitalOcean).
    assert body["instance"] == server.instance_id
    print(f"\nboot to healthy: {seconds:.1f}s ({server.accelerator})")


def test_readiness_answers_for_the_load_balancer(server):
    """Ready once the app's own start-up check has reached the database (it retries every 2 s)."""
    answer, _ = server.wait_for_http("/readyz", READY_TIMEOUT_SECONDS, want_status=200)
    assert answer is not None and answer[0] == 200, answer
    assert answer[1]["status"] == "ready" and answer[1]["instance"] == server.instance_id, answer


def test_every_database_connection_reaches_the_database(server):
    """Each /healthz opens a new connection: the guest forward must carry them all, not just the first.

    A one-shot forward would answer none of these. On a loaded TCG guest one connection can
    still outlast the app's 2 s connect timeout (503), so the test asks for several
    successes among a bounded number of attempts rather than for every attempt.
    """
    statuses = []
    for _ in range(10):
        statuses.append((server.http_get("/healthz", timeout=30) or (None, {}))[0])
        if statuses.count(200) >= 3:
            break
    assert statuses.count(200) >= 3, statuses


def guest(server, command: str) -> str:
    result = server.ssh(command)
    assert result.returncode == 0, f"{command}: {result.stderr}"
    return result.stdout.strip()


def visit(server, cookie: str | None) -> tuple[dict, str | None]:
    """GET / as a browser would, sending ``cookie``; the JSON body and the cookie the app set."""
    request = urllib.request.Request(f"http://127.0.0.1:{server.http_port}/", headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        set_cookie = response.headers.get("Set-Cookie")
        return json.loads(response.read()), set_cookie.split(";", 1)[0] if set_cookie else None


def test_a_returning_visitor_keeps_its_signed_session_and_every_view_is_counted(server):
    """The image's own Python modules at work: the session cookie (python3-cryptography) and the view count in the
    table Alembic migrated at first boot (python3-alembic, SQLAlchemy, psycopg2), on the image's Python."""
    first, cookie = visit(server, None)
    assert cookie is not None and first["session_visits"] == 1, first
    second, _ = visit(server, cookie)
    assert second["session_visits"] == 2, second
    assert isinstance(first["views"], int) and second["views"] == first["views"] + 1, (first, second)


def test_app_service_is_active_under_its_own_user(server):
    assert guest(server, "systemctl is-active webapp.service") == "active"
    assert guest(server, "systemctl is-enabled webapp.service") == "enabled"
    pid = guest(server, "systemctl show -p MainPID --value webapp.service")
    assert guest(server, f"ps -o user= -p {pid}") == "webapp"
    assert guest(server, "getent passwd webapp").endswith(":/nonexistent:/usr/sbin/nologin")


def test_the_first_boot_fails_no_unit_and_the_masked_boot_work_stays_out(server):
    """What the base masks (generators, early units) is nothing another unit needed: the first boot ends with no
    failed unit, and the kernel interfaces those units mounted are not mounted."""
    server.ssh("cloud-init status --wait", timeout=600)
    assert guest(server, "systemctl is-system-running || true") == "running", guest(server, "systemctl --failed --no-legend --plain")
    assert guest(server, "systemctl --failed --no-legend --plain") == ""
    mounts = guest(server, "findmnt --noheadings --output TARGET --list")
    for target in ("/proc/sys/fs/binfmt_misc", "/sys/kernel/debug", "/sys/kernel/tracing", "/sys/fs/fuse/connections", "/sys/kernel/config"):
        assert target not in mounts.splitlines(), target
    assert guest(server, "readlink /etc/systemd/system-generators/systemd-sysv-generator") == "/dev/null"


def ordering_units(unit_file: Path) -> set[str]:
    """The units ``unit_file`` orders itself after or pulls in (After=, Requires=, Wants=), as written."""
    names: set[str] = set()
    for line in unit_file.read_text().splitlines():
        key, _, value = line.partition("=")
        if key in ("After", "Requires", "Wants"):
            names.update(value.split())
    return names


def test_the_server_is_debian_13_and_runs_cloud_init_in_one_process(server):
    """Debian 13 under the app, and cloud-init's single process (cloud-init-main.service, 24.3 and later) ran the
    boot's stages: the stage units only hand over to it, and it finished without error."""
    server.ssh("cloud-init status --wait", timeout=600)
    assert guest(server, ". /etc/os-release && echo $VERSION_ID") == "13"
    main = guest(server, "systemctl show --property=Result,ExecMainStatus,ExecMainStartTimestampMonotonic cloud-init-main.service")
    properties = dict(line.split("=", 1) for line in main.splitlines())
    assert properties["Result"] == "success" and properties["ExecMainStatus"] == "0", main
    assert int(properties["ExecMainStartTimestampMonotonic"]) > 0, main
    assert "--all-stages" in guest(server, "systemctl show --property=ExecStart --value cloud-init-main.service")
    # No module failed (resizefs did, while the image had no resize2fs).
    assert guest(server, "cloud-init status | head -n 1") == "status: done"


def test_the_image_carries_the_manifest_of_what_is_installed_and_its_patch_level(server, staging):
    """manifest.sh's record, checked in the booted guest: every installed package at its version (dpkg's own
    database, read here by the guest's dpkg-query), the digest the bake printed, and the checkout's patch level."""
    from bake import bake

    recorded = bake(app_version=staging.outputs["appVersion"], app_name="hello")["app"].image_manifest
    assert recorded is not None, "the local bake recorded no manifest line"
    manifest = guest(server, "cat /usr/share/immutable-web/packages.manifest").splitlines()
    status = guest(server, "dpkg-query -W -f='${db:Status-Abbrev}|${binary:Package}|${Version}\\n'").splitlines()
    installed = {(name.split(":")[0], version) for abbrev, name, version in (line.split("|") for line in status) if abbrev.startswith("ii")}
    assert {tuple(line.split("\t")[:2]) for line in manifest} == installed and len(manifest) == recorded.packages
    assert guest(server, "sha256sum /usr/share/immutable-web/packages.manifest").split()[0] == recorded.sha256
    layers = bake(app_version=staging.outputs["appVersion"], app_name="hello")
    assert layers["app"].packages is not None and layers["app"].packages.read_text().splitlines() == manifest, "the bake's download is the image's manifest"
    level = guest(server, "cat /usr/share/immutable-web/patch-level")
    assert level == recorded.patch_level == read_patch_level(ROOT)
    assert f"-base-{level}-" in layers["base"].name


def test_the_initramfs_carries_no_hardware_database(server):
    """udev's hwdb.bin stays out of the initrd (the base's initramfs hook); the booted system keeps its own."""
    assert guest(server, "lsinitramfs /boot/initrd.img-$(uname -r) | grep -c hwdb.bin || true") == "0"
    assert guest(server, "test -s /usr/lib/udev/hwdb.bin && echo present") == "present"


def test_every_unit_the_app_waits_for_exists_in_the_image(server):
    """An After= on a unit the image does not have orders against nothing (cloud-init.service became
    cloud-init-network.service in cloud-init 24.3): the app could start before cloud-init wrote its env file."""
    webapp = ROOT / "images" / "webapp"
    units = set().union(*(ordering_units(webapp / name) for name in ("webapp.service", "webapp-secrets.service", "webapp-migrate.service")))
    assert "cloud-init-network.service" in units
    for unit in sorted(units):
        assert guest(server, f"systemctl show --property=LoadState --value {unit}") == "loaded", unit


def test_host_keys_are_the_servers_own_ed25519_and_ecdsa(server):
    """cloud-init makes the host keys (ssh_genkeytypes); Debian 13's first-boot sshd-keygen.service, which would add
    an RSA key, is masked."""
    server.ssh("cloud-init status --wait", timeout=600)
    assert guest(server, "ls /etc/ssh/ | grep '^ssh_host_.*_key$' | sort").split() == ["ssh_host_ecdsa_key", "ssh_host_ed25519_key"]
    assert guest(server, "systemctl is-enabled sshd-keygen.service || true") == "masked"


def test_unit_verifies_and_is_confined_inside_the_image(server):
    """The image's own systemd checks the installed unit (the fast test checks it in an image-like root)."""
    result = server.ssh("systemd-analyze verify /etc/systemd/system/webapp.service", timeout=120)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    line = guest(server, "systemd-analyze security --no-pager webapp.service | tail -n 1")
    score = float(re.search(r"webapp.service: ([0-9.]+)", line).group(1))
    print(f"\nsystemd-analyze security webapp.service, in the running image: {score}")
    assert score <= 2.0, line


def test_the_password_and_the_secret_never_reach_the_journal(server, postgres):
    secret = re.search(r'^APP_SECRET="(.*)"$', guest(server, "cat /etc/webapp/app.env"), re.MULTILINE).group(1)
    journal = guest(server, "journalctl -b --no-pager -o cat")
    assert "listening on 0.0.0.0:8080" in journal, "the app's own lines are not in the journal: the check would prove nothing"
    for text, where in ((journal, "journal"), (server.console_text(), "serial console")):
        assert postgres.password not in text and secret not in text, where


def test_env_file_is_root_only_and_holds_what_user_data_wrote(server, postgres):
    assert guest(server, "stat -c '%a %U %G' /etc/webapp/app.env") == "600 root root"
    content = guest(server, "cat /etc/webapp/app.env")
    assert f'DATABASE_PASSWORD="{postgres.password}"' in content and 'DATABASE_SSLMODE="verify-full"' in content
    assert 'DATABASE_SSLROOTCERT="/etc/webapp/database-ca.crt"' in content
    assert 'APP_ENV="staging"' in content


def test_the_apps_user_can_read_no_admin_credential_anywhere(server, postgres):
    """The schema's owner migrated (webapp-migrate.service), and nothing the app's user can read holds its password."""
    assert postgres.sql("SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'webapp'", postgres.database).strip() == ADMIN_USER
    assert guest(server, "systemctl show -p Result --value webapp-migrate.service") == "success"
    app_pid = guest(server, "systemctl show -p MainPID --value webapp.service")
    # The app's own environment, what it reads as /proc/self/environ, as root reads it: its serving password, no admin's.
    environment = guest(server, f"tr '\\0' '\\n' < /proc/{app_pid}/environ")
    assert f"DATABASE_PASSWORD={postgres.password}" in environment.splitlines(), "the check would prove nothing"
    assert ADMIN_PASSWORD not in environment and "DATABASE_MIGRATION" not in environment
    # Root finds the admin's password where it lives, root-only: the search below can find it.
    assert guest(server, f"grep -lF {ADMIN_PASSWORD} /etc/webapp/migration.env") == "/etc/webapp/migration.env"
    found = files_the_app_user_can_read_with(lambda command: guest(server, command), ADMIN_PASSWORD)
    assert found == "", found


def test_the_database_ca_is_the_one_user_data_carried(server, postgres):
    """/healthz is 200 (the first test) with verify-full: the guest's libpq checked 10.0.2.100 against this CA."""
    assert guest(server, "stat -c '%a %U %G' /etc/webapp/database-ca.crt") == "644 root root"
    assert guest(server, "cat /etc/webapp/database-ca.crt") == postgres.ca_certificate.strip()


def test_no_ssh_password_login(server):
    config = guest(server, "sshd -T")
    assert "passwordauthentication no" in config and "kbdinteractiveauthentication no" in config
    assert "permitrootlogin without-password" in config or "permitrootlogin prohibit-password" in config
    assert guest(server, "passwd -S root").split()[1] == "L", "root's password must be locked"
    attempt = server.ssh("true", password_only=True)
    assert attempt.returncode != 0 and "Permission denied" in attempt.stderr


def test_nothing_else_listens(server, staging):
    sockets = guest(server, "ss -H -ltnu")
    tcp, udp = set(), set()
    for line in sockets.splitlines():
        fields = line.split()
        (tcp if fields[0] == "tcp" else udp).add(fields[4].rsplit(":", 1)[1])
    assert tcp == {"8080", "22"}, sockets  # the app; sshd (key-only, closed at the cloud firewall unless allow-listed)
    assert udp <= {"68"}, sockets  # the DHCP client's socket: it answers nothing


# Prints the stand-in's user-data, or why it could not be fetched.
METADATA_FETCH = """
import urllib.request
try:
    print(urllib.request.urlopen("http://169.254.169.254/metadata/v1/user-data", timeout=5).read().decode().strip())
except OSError as error:
    print("refused:", getattr(error, "reason", error))
"""


def test_only_root_reaches_the_metadata_endpoint(server):
    """The base's nftables rule: the cloud's metadata endpoint (which serves user-data) answers root only.

    The stand-in endpoint runs inside the guest, on a loopback alias of 169.254.169.254:
    QEMU's user network forwards guest connections only to addresses in its own subnet
    (`guestfwd=tcp:169.254.169.254:80-...` stops QEMU with "Conflicting/invalid host:port in
    guest forwarding rule"). The rule sees what it sees for the real endpoint: a locally
    made packet to 169.254.169.254 and the socket's owner. (NoCloud, the local datasource,
    never asks that address, so the boot itself does not depend on it.)
    """
    assert guest(server, "systemctl is-enabled nftables.service") == "enabled"
    assert guest(server, "systemctl is-active nftables.service") == "active"
    guest(
        server,
        "ip addr add 169.254.169.254/32 dev lo && install -d /run/metadata-stand-in/metadata/v1"
        " && echo stand-in-user-data > /run/metadata-stand-in/metadata/v1/user-data"
        " && systemd-run --quiet --unit metadata-stand-in python3 -m http.server --bind 169.254.169.254 --directory /run/metadata-stand-in 80",
    )
    try:
        guest(server, "for _ in $(seq 100); do ss -Hltn 'sport = :80' | grep -q . && exit 0; sleep 0.2; done; exit 1")
        as_root = guest(server, f"python3 -c {shlex.quote(METADATA_FETCH)}")
        as_webapp = guest(server, f"cd / && runuser -u webapp -- python3 -c {shlex.quote(METADATA_FETCH)}")
        rules = guest(server, "nft list chain inet metadata output")
    finally:
        server.ssh("systemctl stop metadata-stand-in; ip addr del 169.254.169.254/32 dev lo; rm -rf /run/metadata-stand-in")
    assert as_root == "stand-in-user-data"
    assert as_webapp.startswith("refused:"), as_webapp
    # The rule refused it (its counter moved), not something else.
    assert re.search(r"ip daddr 169\.254\.169\.254 meta skuid != 0 counter packets [1-9]", rules), rules


def test_the_server_does_not_change_itself(server):
    active_timers = guest(server, "systemctl list-timers --no-legend --plain")
    assert "apt" not in active_timers and "unattended" not in active_timers, active_timers
    for unit in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        assert guest(server, f"systemctl is-enabled {unit} || true") == "masked", unit


def test_wrong_database_password_boots_but_never_becomes_healthy(image, postgres, staging):
    log_before = len(postgres.log_text())
    vm = BootedImage(image, user_data_for(postgres, "not-the-password"), hostname="bad-config", guest_forwards={GUEST_DATABASE: postgres.port})
    with vm:
        answer, _ = vm.wait_for_http("/healthz", BOOT_TIMEOUT_SECONDS)
        assert answer is not None, f"the app never answered; console:\n{vm.console_text()[-3000:]}"
        statuses = [answer[0]]
        # Bounded: keep asking for 20 s; a bad config must not turn healthy.
        deadline = time.monotonic() + 20
        readiness = []
        while time.monotonic() < deadline:
            later = vm.http_get("/healthz")
            if later is not None:
                statuses.append(later[0])
            ready = vm.http_get("/readyz")
            if ready is not None:
                readiness.append((ready[0], ready[1].get("status")))
            time.sleep(2)
    assert set(statuses) == {503}, statuses
    # Never ready either: the load balancer never sends it a request.
    assert readiness and set(readiness) == {(503, "starting")}, readiness
    assert answer[1]["database"] is False and answer[1]["error"] == "OperationalError"
    # The database was reached and refused the password: not merely unreachable.
    log = postgres.log_text()[log_before:]
    assert f'password authentication failed for user "{postgres.user}"' in log, log[-2000:]
