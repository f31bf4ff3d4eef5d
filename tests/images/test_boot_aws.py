"""Boot the baked app image with the AWS program's own user-data: no secret in it, every secret fetched from SSM.

The user-data is what the program puts in the `aws-staging` launch template
(`offline.harness.aws_staging_user_data`: the real `__main__.py` under the mocks, the RDS
instance's address and port pointing at a real PostgreSQL on this machine). Its env file
names the SSM parameters of the database password and the app secret, their versions, the
region and the fleet generation; it holds no secret and no CA. At boot
webapp-secrets.service (images/webapp/fetch_secrets.py) asks the instance metadata service
(IMDSv2) for the instance role's credentials and SSM for both SecureStrings, and the app
starts with them; /healthz then reaches PostgreSQL with that password (verify-full) and
reports the generation the user-data carries, the one the deploy's gate counts.

The database is RDS-like: its owner is the master user (`hello`, may create roles, no
superuser), whose password only migration.env's parameter names. webapp-migrate.service
gets it (fetched by root into a file of its own), makes the serving role `hello_serving`
with the app's password and migrates; the app serves as that role and its user can read no
admin credential anywhere (`test_the_apps_user_can_read_no_admin_credential_anywhere`).

What differs from production, and why (`local_user_data` below does exactly this to the
program's cloud-config, nothing else; the program's own env lines stay byte for byte):

- Two lines are appended to /etc/webapp/app.env: `AWS_ENDPOINT_URL_SSM` and
  `AWS_EC2_METADATA_SERVICE_ENDPOINT`, pointing at the stand-ins below. Production has
  neither: the fetcher asks `https://ssm.<region>.amazonaws.com` and 169.254.169.254.
  Here nothing else answers (the guest's network reaches only its forwards), and QEMU's
  user network forwards guest connections only to addresses inside its own subnet
  (`guestfwd=tcp:169.254.169.254:80-...` stops QEMU with "Conflicting/invalid host:port in
  guest forwarding rule"). On AWS the fetcher asks 169.254.169.254 as root, which the
  base's nftables rule lets through (test_boot.py checks the rule in the image).
- One write_files entry is added: the CA that signed the local PostgreSQL's certificate,
  at the path the program's `DATABASE_SSLROOTCERT` names. In production the AMI carries
  RDS's CA bundle there and user-data writes none; RDS's CAs did not sign this server's
  certificate, and verify-full must still verify.

What stands in for AWS, all on this machine's 127.0.0.1, reached by the guest only through
per-connection guest forwards (`-netdev user,restrict=on`):

| guest address       | here                           | app.env line                                    |
|---------------------|--------------------------------|-------------------------------------------------|
| 10.0.2.100:5432     | PostgreSQL (tests/postgres.py) | DATABASE_HOST / DATABASE_PORT (the program's)   |
| 10.0.2.101:4566     | moto server, auth enforced     | AWS_ENDPOINT_URL_SSM (added)                    |
| 10.0.2.102:80       | the IMDSv2 stand-in            | AWS_EC2_METADATA_SERVICE_ENDPOINT (added)       |
"""

from __future__ import annotations

import hashlib
import re
import shlex
import sys
import time
from pathlib import Path

import pytest
import yaml
from aws_stand_ins import MetadataStandIn, MotoServer
from conftest import require_tools
from guests import GUEST_DATABASE, files_the_app_user_can_read_with, guest_postgres
from postgres import LocalPostgres, available

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "images" / "local"))
sys.path.insert(0, str(ROOT / "images" / "webapp"))

from boot import BootedImage  # noqa: E402
from fetch_secrets import parse_env_file  # noqa: E402

from components.common.cloud_init import ENV_FILE_PATH, MIGRATION_ENV_FILE_PATH, render_env_file  # noqa: E402
from offline.harness import aws_staging_user_data  # noqa: E402

TOOLS = ("packer", "qemu-system-x86_64", "qemu-img", "mmdebstrap", "genisoimage", "ssh", "ssh-keygen", "socat")
pytestmark = [
    pytest.mark.slow,
    require_tools(*TOOLS, present={"postgresql": available()}),
]

BOOT_TIMEOUT_SECONDS = 600  # TCG on a loaded 2-core machine; a healthy boot takes far less
FAILED_BOOT_SECONDS = 420  # for the failure case: long enough for the fetcher's 120 s deadline to pass
GUEST_SSM = "10.0.2.101:4566"
GUEST_METADATA = "10.0.2.102:80"
# The serving role's password: what systemd's EnvironmentFile= quoting must carry intact.
PASSWORD = 'c0rrect "horse" \\battery $HOME #staple;`x`'
APP_SECRET = "zebra-'quagga' $okapi"
# RDS's master user's (the schema's owner): webapp-migrate.service's alone.
ADMIN_PASSWORD = "admin-only-wallaby-5e2f9c"
# Words of every secret that must never show up where they do not belong.
SECRET_WORDS = ("battery", "staple", "quagga", "okapi", "wallaby")
SERVING_USER = "hello_serving"


@pytest.fixture(scope="module")
def postgres():
    """RDS-like: the master user owns the database and may create roles; it is no superuser."""
    with guest_postgres(password=ADMIN_PASSWORD) as server:
        server.sql(f"ALTER ROLE {server.user} CREATEROLE")
        yield server


@pytest.fixture(scope="module")
def program_user_data(postgres) -> str:
    """The aws-staging launch template's user-data, the RDS instance being the local PostgreSQL (as the guest reaches it)."""
    host, port = GUEST_DATABASE.split(":")
    return aws_staging_user_data(database_host=host, database_port=int(port), database_user=postgres.user, database_name=postgres.database)


@pytest.fixture(scope="module")
def program_env(program_user_data) -> dict[str, str]:
    (env_file,) = [entry for entry in yaml.safe_load(program_user_data)["write_files"] if entry["path"] == ENV_FILE_PATH]
    return parse_env_file(env_file["content"])


@pytest.fixture(scope="module")
def moto(postgres, program_env, program_migration_env):
    """SSM with both SecureStrings under the names the user-data gives, and a role allowed to read them; then every request is checked."""
    with MotoServer() as server:
        server.trust_everyone()
        # In the stack's region (aws:region), which the user-data's AWS_REGION names and the fetcher signs for.
        server.put_secure_string(program_env["DATABASE_PASSWORD_PARAMETER"], PASSWORD, region=program_env["AWS_REGION"])
        server.put_secure_string(program_migration_env["DATABASE_MIGRATION_PASSWORD_PARAMETER"], postgres.password, region=program_env["AWS_REGION"])
        server.put_secure_string(program_env["APP_SECRET_PARAMETER"], APP_SECRET, region=program_env["AWS_REGION"])
        server.role = server.role_credentials()
        server.enforce_auth()
        yield server


@pytest.fixture(scope="module")
def program_migration_env(program_user_data) -> dict[str, str]:
    (env_file,) = [entry for entry in yaml.safe_load(program_user_data)["write_files"] if entry["path"] == MIGRATION_ENV_FILE_PATH]
    return parse_env_file(env_file["content"])


def local_endpoints() -> dict[str, str]:
    return {"AWS_ENDPOINT_URL_SSM": f"http://{GUEST_SSM}", "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://{GUEST_METADATA.removesuffix(':80')}"}


def local_user_data(program_user_data: str, database_ca: str, **env_changes: str) -> str:
    """The program's cloud-config plus what only a local boot needs (the module docstring says what and why).

    ``env_changes`` (appended after the program's lines; systemd keeps the last value of a
    name) lets the failure case name a parameter that does not exist.
    """
    document = yaml.safe_load(program_user_data)
    (env_file,) = [entry for entry in document["write_files"] if entry["path"] == ENV_FILE_PATH]
    env_file["content"] += render_env_file({**local_endpoints(), **env_changes})
    ca_path = parse_env_file(env_file["content"])["DATABASE_SSLROOTCERT"]
    document["write_files"].insert(0, {"path": ca_path, "owner": "root:root", "permissions": "0644", "content": database_ca})
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=4096)


def booted(image: Path, user_data: str, postgres: LocalPostgres, moto: MotoServer, metadata: MetadataStandIn, **options) -> BootedImage:
    return BootedImage(image, user_data, guest_forwards={GUEST_DATABASE: postgres.port, GUEST_SSM: moto.port, GUEST_METADATA: metadata.port}, **options)


@pytest.fixture(scope="module")
def metadata(moto):
    with MetadataStandIn(moto.role) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def server(image, postgres, moto, metadata, ssh_key, program_user_data):
    vm = booted(
        image,
        local_user_data(program_user_data, postgres.ca_certificate),
        postgres,
        moto,
        metadata,
        hostname="ip-10-0-1-23",
        instance_id="i-0a1b2c3d4e5f60718",
        ssh_public_keys=[ssh_key.with_suffix(".pub").read_text().strip()],
        ssh_private_key=ssh_key,
    )
    with vm:
        vm.first_healthy = vm.wait_for_http("/healthz", BOOT_TIMEOUT_SECONDS, want_status=200)
        yield vm


def guest(server: BootedImage, command: str) -> str:
    result = server.ssh(command)
    assert result.returncode == 0, f"{command}: {result.stderr}"
    return result.stdout.strip()


def test_program_user_data_holds_no_secret(program_user_data, program_env, program_migration_env, postgres):
    """The oracle for the rest: what the launch template carries names the parameters and nothing more."""
    assert "DATABASE_PASSWORD" not in program_env and "APP_SECRET" not in program_env
    assert PASSWORD not in program_user_data and APP_SECRET not in program_user_data and ADMIN_PASSWORD not in program_user_data
    assert program_env["AWS_REGION"] and re.fullmatch(r"[0-9a-f]{12}", program_env["APP_GENERATION"]), program_env
    assert program_env["DATABASE_USER"] == SERVING_USER and program_migration_env["DATABASE_MIGRATION_USER"] == postgres.user
    assert "DATABASE_MIGRATION_PASSWORD" not in program_migration_env
    paths = [entry["path"] for entry in yaml.safe_load(program_user_data)["write_files"]]
    assert paths == [ENV_FILE_PATH, MIGRATION_ENV_FILE_PATH], "production writes no CA: the AMI carries RDS's"


def test_healthz_reaches_the_database_and_reports_the_generation(server, program_env):
    answer, seconds = server.first_healthy
    assert answer is not None, f"no answer within {BOOT_TIMEOUT_SECONDS}s; console:\n{server.console_text()[-3000:]}"
    status, body = answer
    assert status == 200 and body["database"] is True, body
    assert body["generation"] == program_env["APP_GENERATION"], body
    assert body["instance"] == "i-0a1b2c3d4e5f60718", body
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\nboot to healthy, both secrets from SSM: {seconds:.1f}s ({server.accelerator}; load {' '.join(load)})")


def test_env_file_is_the_programs_with_only_the_local_endpoints_added(server, program_user_data):
    (env_file,) = [entry for entry in yaml.safe_load(program_user_data)["write_files"] if entry["path"] == ENV_FILE_PATH]
    app_env = guest(server, f"cat {ENV_FILE_PATH}") + "\n"
    assert app_env == env_file["content"] + render_env_file(local_endpoints())
    assert "DATABASE_PASSWORD=" not in app_env and "APP_SECRET=" not in app_env
    assert PASSWORD not in app_env and APP_SECRET not in app_env


def test_both_secrets_sit_in_a_root_only_file_on_tmpfs(server):
    assert guest(server, "stat -c '%a %U %G' /run/webapp /run/webapp/secrets.env") == "700 root root\n600 root root"
    assert guest(server, "findmnt -n -o FSTYPE --target /run/webapp") == "tmpfs"
    # The exact bytes systemd must read back: quotes, backslash, dollar, hash, backquotes.
    assert guest(server, "cat /run/webapp/secrets.env").splitlines() == [
        "APP_SECRET=\"zebra-'quagga' $okapi\"",
        'DATABASE_PASSWORD="c0rrect \\"horse\\" \\\\battery $HOME #staple;`x`"',
    ]
    assert guest(server, "ls -A /run/webapp") == "migration-secrets.env\nsecrets.env"
    assert guest(server, "stat -c '%a %U %G' /run/webapp/migration-secrets.env") == "600 root root"


def test_the_app_runs_with_both_secrets_in_its_environment(server, postgres):
    """Read back as systemd handed them over (hashed in the guest: no secret on a command line or in this test's output)."""
    digest = "tr '\\0' '\\n' < /proc/$(systemctl show -p MainPID --value webapp.service)/environ | grep -x '{name}=.*' | sha256sum | cut -d' ' -f1"
    for name, value in (("DATABASE_PASSWORD", PASSWORD), ("APP_SECRET", APP_SECRET)):
        assert guest(server, digest.format(name=name)) == hashlib.sha256(f"{name}={value}\n".encode()).hexdigest(), name


def test_metadata_was_asked_with_imdsv2_only(server, metadata):
    assert ("PUT", "/latest/api/token", True, 200) in metadata.requests
    assert all(valid for method, _, valid, _ in metadata.requests if method == "GET"), metadata.requests


def test_secrets_unit_ran_once_before_the_app(server):
    assert guest(server, "systemctl show -p Result,ActiveState,SubState --value webapp-secrets.service").split() == ["success", "active", "exited"]
    fetched = float(guest(server, "systemctl show -p ExecMainExitTimestampMonotonic --value webapp-secrets.service"))
    started = float(guest(server, "systemctl show -p ExecMainStartTimestampMonotonic --value webapp.service"))
    assert 0 < fetched <= started


def test_secrets_unit_verifies_and_is_confined_inside_the_image(server):
    result = server.ssh("systemd-analyze verify /etc/systemd/system/webapp-secrets.service /etc/systemd/system/webapp.service", timeout=120)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    line = guest(server, "systemd-analyze security --no-pager webapp-secrets.service | tail -n 1")
    score = float(re.search(r"webapp-secrets.service: ([0-9.]+)", line).group(1))
    print(f"\nsystemd-analyze security webapp-secrets.service, in the running image: {score}")
    assert score <= 2.5, line


def test_no_secret_reaches_the_journal(server, program_env):
    journal = guest(server, "journalctl -b --no-pager -o cat")
    wrote = (
        "fetch_secrets: wrote /run/webapp/secrets.env: "
        f"APP_SECRET from SSM parameter {program_env['APP_SECRET_PARAMETER']}, "
        f"DATABASE_PASSWORD from SSM parameter {program_env['DATABASE_PASSWORD_PARAMETER']}"
    )
    assert wrote in journal, "the fetcher's own line is not in the journal"
    for text, where in ((journal, "journal"), (server.console_text(), "serial console")):
        assert not [word for word in SECRET_WORDS if word in text], where


# Prints what the metadata endpoint answers for the instance role's credentials, or why it did not.
METADATA_FETCH = """
import urllib.request
try:
    print(urllib.request.urlopen("http://169.254.169.254/latest/meta-data/iam/security-credentials/", timeout=5).read().decode().strip())
except OSError as error:
    print("refused:", getattr(error, "reason", error))
"""


def test_the_apps_user_can_read_no_admin_credential_anywhere(server, postgres):
    """The master user migrated and made the serving role in webapp-migrate.service; the app serves as that role, with DML only;
    nothing the app's user can read holds the master's password, and it cannot ask the metadata endpoint for the role's credentials."""
    assert postgres.sql("SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'webapp'", postgres.database).strip() == postgres.user
    assert guest(server, "systemctl show -p Result --value webapp-migrate.service") == "success"
    assert postgres.sql(f"SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = '{SERVING_USER}'").strip() == "f|f|f"
    assert postgres.sql(f"SELECT count(*) FROM pg_auth_members WHERE member = '{SERVING_USER}'::regrole").strip() == "0"
    serving_connections = postgres.sql(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{SERVING_USER}'").strip()
    assert int(serving_connections) >= 1, "the app does not serve as its own role"
    app_pid = guest(server, "systemctl show -p MainPID --value webapp.service")
    assert guest(server, f"ps -o user= -p {app_pid}") == "webapp"
    environment = guest(server, f"tr '\\0' '\\n' < /proc/{app_pid}/environ")
    assert f"DATABASE_USER={SERVING_USER}" in environment.splitlines(), "the check would prove nothing"
    assert ADMIN_PASSWORD not in environment and "DATABASE_MIGRATION" not in environment
    # Root finds it where it lives, root-only (tmpfs): the search below can find it.
    assert guest(server, f"grep -lF {ADMIN_PASSWORD} /run/webapp/migration-secrets.env") == "/run/webapp/migration-secrets.env"
    found = files_the_app_user_can_read_with(lambda command: guest(server, command), ADMIN_PASSWORD)
    assert found == "", found
    # The instance role may read the master's parameter; only root may ask for the role's credentials. The real endpoint's
    # address, on a loopback alias answered inside the guest (QEMU cannot forward 169.254.169.254): root gets an answer,
    # the app's user the nftables rule's refusal.
    guest(
        server,
        "ip addr add 169.254.169.254/32 dev lo && install -d /run/metadata-stand-in/latest/meta-data/iam/security-credentials"
        " && echo webapp-instance > /run/metadata-stand-in/latest/meta-data/iam/security-credentials/index.html"
        " && systemd-run --quiet --unit metadata-stand-in python3 -m http.server --bind 169.254.169.254 --directory /run/metadata-stand-in 80",
    )
    try:
        guest(server, "for _ in $(seq 100); do ss -Hltn 'sport = :80' | grep -q . && exit 0; sleep 0.2; done; exit 1")
        as_root = guest(server, f"python3 -c {shlex.quote(METADATA_FETCH)}")
        as_webapp = guest(server, f"cd / && runuser -u webapp -- python3 -c {shlex.quote(METADATA_FETCH)}")
    finally:
        server.ssh("systemctl stop metadata-stand-in; ip addr del 169.254.169.254/32 dev lo; rm -rf /run/metadata-stand-in")
    assert as_root == "webapp-instance"
    assert as_webapp.startswith("refused:"), as_webapp


def test_the_migration_ran_after_the_secrets_were_fetched(server):
    fetched = float(guest(server, "systemctl show -p ExecMainExitTimestampMonotonic --value webapp-secrets.service"))
    migrated = float(guest(server, "systemctl show -p ExecMainStartTimestampMonotonic --value webapp-migrate.service"))
    assert 0 < fetched <= migrated


def test_without_its_app_secret_the_app_never_starts(image, postgres, moto, metadata, ssh_key, program_user_data, server):
    """The password exists, the app secret's parameter does not: nothing is written, webapp.service never starts."""
    server.kill()  # one VM at a time on this machine
    missing = "/immutable-web/aws-staging/no-such-secret"
    vm = booted(
        image,
        local_user_data(program_user_data, postgres.ca_certificate, APP_SECRET_PARAMETER=missing),
        postgres,
        moto,
        metadata,
        hostname="no-secret",
        ssh_public_keys=[ssh_key.with_suffix(".pub").read_text().strip()],
        ssh_private_key=ssh_key,
    )
    with vm:
        deadline = time.monotonic() + FAILED_BOOT_SECONDS
        result = ""
        while time.monotonic() < deadline and result != "exit-code":
            assert vm.http_get("/healthz", timeout=2) is None, "the app answered without its secret"
            attempt = vm.ssh("systemctl show -p Result --value webapp-secrets.service", timeout=30)
            result = attempt.stdout.strip() if attempt.returncode == 0 else ""
            time.sleep(3)
        assert result == "exit-code", f"webapp-secrets.service did not fail within {FAILED_BOOT_SECONDS}s; console:\n{vm.console_text()[-3000:]}"
        assert guest(vm, "systemctl show -p ActiveState --value webapp.service") in ("inactive", "failed")
        assert guest(vm, "systemctl show -p ExecMainStartTimestampMonotonic --value webapp.service") == "0", "the app was started"
        assert guest(vm, "test -e /run/webapp/secrets.env || echo absent") == "absent", "the password alone was written"
        journal = guest(vm, "journalctl -b --no-pager -o cat")
        assert vm.http_get("/healthz", timeout=5) is None
    assert f"{missing}: HTTP 400 ParameterNotFound" in journal, journal[-3000:]
    assert "Dependency failed for webapp.service" in journal or "Dependency failed for webapp" in journal, journal[-3000:]
    assert not [word for word in SECRET_WORDS if word in journal + vm.console_text()]
