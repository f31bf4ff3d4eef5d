"""Boot the baked app image as an AWS instance would boot it: the database password comes from SSM, not user-data.

The image is the one `images/local/bake.py` bakes (as in test_boot.py). The user-data is
the staging stack's, with its env file changed the way the AWS program will change it:
no DATABASE_PASSWORD, and instead the parameter's name and the region. At boot
webapp-secrets.service (images/webapp/fetch_secrets.py) asks the instance metadata service
(IMDSv2) for the instance role's credentials and SSM for the SecureString, and the app
starts with it; /healthz then reaches a real PostgreSQL with that password.

What stands in for AWS, all on this machine's 127.0.0.1, reached by the guest only through
per-connection guest forwards (`-netdev user,restrict=on`):

| guest address       | here                           | app.env line                        |
|---------------------|--------------------------------|-------------------------------------|
| 10.0.2.100:5432     | PostgreSQL (tests/postgres.py) | DATABASE_HOST / DATABASE_PORT       |
| 10.0.2.101:4566     | moto server, auth enforced     | AWS_ENDPOINT_URL_SSM                |
| 10.0.2.102:80       | the IMDSv2 stand-in            | AWS_EC2_METADATA_SERVICE_ENDPOINT   |

The metadata service is not at 169.254.169.254 here: QEMU's user network forwards guest
connections only to addresses inside its own subnet (`guestfwd=tcp:169.254.169.254:80-...`
stops QEMU with "Conflicting/invalid host:port in guest forwarding rule"), so the test uses
the standard endpoint override instead. On AWS the fetcher asks 169.254.169.254 as root,
which the base's nftables rule lets through (test_boot.py checks the rule in the image).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from aws_stand_ins import REGION, MetadataStandIn, MotoServer
from conftest import require_tools
from postgres import LocalPostgres, available

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "images" / "local"))
sys.path.insert(0, str(ROOT / "images" / "webapp"))

from bake import bake  # noqa: E402
from boot import BootedImage  # noqa: E402
from fetch_secrets import parse_env_file  # noqa: E402

from components.common.cloud_init import ENV_FILE_PATH, render_user_data  # noqa: E402
from offline.harness import run_program, staging_user_data  # noqa: E402

TOOLS = ("packer", "qemu-system-x86_64", "qemu-img", "mmdebstrap", "genisoimage", "ssh", "ssh-keygen", "socat")
pytestmark = [
    pytest.mark.slow,
    require_tools(*TOOLS, present={"postgresql": available()}),
]

BOOT_TIMEOUT_SECONDS = 600  # TCG on a loaded 2-core machine; a healthy boot takes far less
FAILED_BOOT_SECONDS = 420  # for the failure case: long enough for the fetcher's 120 s deadline to pass
GUEST_DATABASE = "10.0.2.100:5432"
GUEST_SSM = "10.0.2.101:4566"
GUEST_METADATA = "10.0.2.102:80"
PARAMETER = "/immutable-web/staging/database-password"
# What systemd's EnvironmentFile= quoting must carry intact (no single quote: LocalPostgres puts it in SQL).
PASSWORD = 'c0rrect "horse" \\battery $HOME #staple;`x`'


@pytest.fixture(scope="module")
def staging():
    return run_program("staging")


@pytest.fixture(scope="module")
def image(staging):
    layers = bake(app_version=staging.outputs["appVersion"], app_name="hello")
    assert layers["app"].name == staging.outputs["imageName"], "the local bake must produce the image the staging stack names"
    return layers["app"].qcow2


@pytest.fixture(scope="module")
def postgres():
    with LocalPostgres(user="hello", database="hello", password=PASSWORD, host_names=("127.0.0.1", "localhost", GUEST_DATABASE.split(":")[0])) as server:
        yield server


@pytest.fixture(scope="module")
def moto(postgres):
    """SSM with the SecureString, and a role allowed to read it; from then on every request is checked."""
    with MotoServer() as server:
        server.trust_everyone()
        server.put_secure_string(PARAMETER, postgres.password)
        server.role = server.role_credentials()
        server.enforce_auth()
        yield server


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory):
    key = tmp_path_factory.mktemp("ssh") / "operator"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60)
    return key


def aws_user_data(postgres: LocalPostgres, parameter: str) -> str:
    """The staging user-data with the env file as the AWS program will write it: the parameter's name, not the password."""
    host, port = GUEST_DATABASE.split(":")
    staging_document = yaml.safe_load(
        staging_user_data(
            database_host=host,
            database_port=int(port),
            database_user=postgres.user,
            database_password="not-in-user-data",
            database_name=postgres.database,
            database_ca=postgres.ca_certificate,
        )
    )
    (env_file,) = [entry for entry in staging_document["write_files"] if entry["path"] == ENV_FILE_PATH]
    env = parse_env_file(env_file["content"])
    del env["DATABASE_PASSWORD"]
    env |= {
        "DATABASE_PASSWORD_PARAMETER": parameter,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_SSM": f"http://{GUEST_SSM}",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://{GUEST_METADATA.removesuffix(':80')}",
    }
    return render_user_data(env, database_ca=postgres.ca_certificate)


def booted(image: Path, user_data: str, postgres: LocalPostgres, moto: MotoServer, metadata: MetadataStandIn, **options) -> BootedImage:
    return BootedImage(image, user_data, guest_forwards={GUEST_DATABASE: postgres.port, GUEST_SSM: moto.port, GUEST_METADATA: metadata.port}, **options)


@pytest.fixture(scope="module")
def metadata(moto):
    with MetadataStandIn(moto.role) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def server(image, postgres, moto, metadata, ssh_key, staging):
    vm = booted(
        image,
        aws_user_data(postgres, PARAMETER),
        postgres,
        moto,
        metadata,
        hostname=staging.outputs["dropletNames"][0],
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


def test_healthz_reaches_the_database_with_the_password_from_ssm(server):
    answer, seconds = server.first_healthy
    assert answer is not None, f"no answer within {BOOT_TIMEOUT_SECONDS}s; console:\n{server.console_text()[-3000:]}"
    status, body = answer
    assert status == 200 and body["database"] is True, body
    print(f"\nboot to healthy, password from SSM: {seconds:.1f}s ({server.accelerator})")


def test_user_data_carries_no_password(server, postgres):
    app_env = guest(server, f"cat {ENV_FILE_PATH}")
    assert "DATABASE_PASSWORD=" not in app_env and postgres.password not in app_env
    assert f'DATABASE_PASSWORD_PARAMETER="{PARAMETER}"' in app_env


def test_the_password_sits_in_a_root_only_file_on_tmpfs(server, postgres):
    assert guest(server, "stat -c '%a %U %G' /run/webapp /run/webapp/secrets.env") == "700 root root\n600 root root"
    assert guest(server, "findmnt -n -o FSTYPE --target /run/webapp") == "tmpfs"
    # The exact bytes systemd must read back as the password: quotes, backslash, dollar, hash, backquotes.
    assert guest(server, "cat /run/webapp/secrets.env") == 'DATABASE_PASSWORD="c0rrect \\"horse\\" \\\\battery $HOME #staple;`x`"'
    assert guest(server, "ls -A /run/webapp") == "secrets.env"


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


def test_the_password_never_reaches_the_journal(server, postgres):
    journal = guest(server, "journalctl -b --no-pager -o cat")
    assert f"fetch_secrets: wrote /run/webapp/secrets.env from SSM parameter {PARAMETER}" in journal, "the fetcher's own line is not in the journal"
    for text, where in ((journal, "journal"), (server.console_text(), "serial console")):
        assert postgres.password not in text and "battery" not in text, where


def test_without_its_password_the_app_never_starts(image, postgres, moto, metadata, ssh_key, server):
    """A parameter that does not exist: the fetcher fails at once, webapp.service never starts, /healthz never answers."""
    server.kill()  # one VM at a time on this machine
    vm = booted(
        image,
        aws_user_data(postgres, "/immutable-web/staging/no-such-parameter"),
        postgres,
        moto,
        metadata,
        hostname="no-password",
        ssh_public_keys=[ssh_key.with_suffix(".pub").read_text().strip()],
        ssh_private_key=ssh_key,
    )
    with vm:
        deadline = time.monotonic() + FAILED_BOOT_SECONDS
        result = ""
        while time.monotonic() < deadline and result != "exit-code":
            assert vm.http_get("/healthz", timeout=2) is None, "the app answered without its password"
            attempt = vm.ssh("systemctl show -p Result --value webapp-secrets.service", timeout=30)
            result = attempt.stdout.strip() if attempt.returncode == 0 else ""
            time.sleep(3)
        assert result == "exit-code", f"webapp-secrets.service did not fail within {FAILED_BOOT_SECONDS}s; console:\n{vm.console_text()[-3000:]}"
        assert guest(vm, "systemctl show -p ActiveState --value webapp.service") in ("inactive", "failed")
        assert guest(vm, "systemctl show -p ExecMainStartTimestampMonotonic --value webapp.service") == "0", "the app was started"
        journal = guest(vm, "journalctl -b --no-pager -o cat")
        assert vm.http_get("/healthz", timeout=5) is None
    assert "HTTP 400 ParameterNotFound" in journal, journal[-3000:]
    assert "Dependency failed for webapp.service" in journal or "Dependency failed for webapp" in journal, journal[-3000:]
    assert postgres.password not in journal and postgres.password not in vm.console_text()
