"""images/webapp/fetch_secrets.py: the app's secrets from SSM at boot, checked against botocore and a real moto server.

The oracle for the signature is botocore's own SigV4Auth (same request, same instant,
same Authorization header). The oracle for the whole fetch is a moto server with its
authentication on: it recomputes every request's signature with the role's secret key,
checks the session token, and evaluates the role's IAM policy before it answers. The
instance metadata service is a stand-in (tests/aws_stand_ins.py) that answers IMDSv2
only. The fetcher runs as the image runs it: Debian's /usr/bin/python3 in isolated mode,
as a subprocess, with an app.env like the one cloud-init writes.
"""

from __future__ import annotations

import ast
import datetime
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from aws_stand_ins import REGION, MetadataStandIn, MotoServer
from conftest import require_tools
from postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
FETCHER = ROOT / "images" / "webapp" / "fetch_secrets.py"
SYSTEM_PYTHON = "/usr/bin/python3"
sys.path.insert(0, str(FETCHER.parent))

import fetch_secrets  # noqa: E402

PARAMETER = "/immutable-web/staging/database-password"
# Everything systemd's EnvironmentFile= quoting has to get right, and no single quote (the VM test reuses it as SQL).
PASSWORD = 'c0rrect "horse" \\battery $HOME #staple;`x`'
SECRET_PARAMETER = "/immutable-web/staging/app-secret"
APP_SECRET = "zebra-'quagga' $okapi"
# Words of either secret that must never reach stdout or stderr.
SECRET_WORDS = ("c0rrect", "horse", "battery", "staple", "zebra", "quagga", "okapi")

pytestmark = require_tools(present={"Debian's python3": Path(SYSTEM_PYTHON).exists()})


# -- the signature, against botocore --------------------------------------------------


@pytest.mark.parametrize(
    ("url", "token"),
    [("https://ssm.eu-west-1.amazonaws.com/", "FwoGZXIvYXdzEJr//////////wEaDH+session=="), ("http://127.0.0.1:4566/", None)],
    ids=["real-endpoint-with-session-token", "local-endpoint-with-port-no-token"],
)
def test_signature_is_the_one_botocore_computes(url, token):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    instant = datetime.datetime(2025, 3, 4, 5, 6, 7, tzinfo=datetime.UTC)
    body = b'{"Name": "/immutable-web/prod/database-password", "WithDecryption": true}'
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter"}
    ours = fetch_secrets.sigv4_headers(
        method="POST", url=url, headers=headers, body=body, region="eu-west-1", service="ssm", access_key="ASIAQEXAMPLE", secret_key="wJalr/K7MDENG+bPxRfiCY", token=token, now=instant
    )
    request = AWSRequest(method="POST", url=url, headers=dict(headers), data=body)
    with mock.patch("botocore.auth.get_current_datetime", return_value=instant.replace(tzinfo=None)):
        SigV4Auth(Credentials("ASIAQEXAMPLE", "wJalr/K7MDENG+bPxRfiCY", token), "ssm", "eu-west-1").add_auth(request)
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"] == "20250304T050607Z"
    assert ours.get("X-Amz-Security-Token") == request.headers.get("X-Amz-Security-Token")


def test_the_fetcher_needs_only_the_standard_library():
    """The image has no botocore (python3-botocore is 79 MB): every import must be in the stdlib."""
    imported = set()
    for node in ast.walk(ast.parse(FETCHER.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported - sys.stdlib_module_names - {"__future__"} == set()


def test_env_file_quoting_round_trips():
    line = f"DATABASE_PASSWORD={fetch_secrets.quote_env_value(PASSWORD)}\n"
    assert line == 'DATABASE_PASSWORD="c0rrect \\"horse\\" \\\\battery $HOME #staple;`x`"\n'
    assert fetch_secrets.parse_env_file(line) == {"DATABASE_PASSWORD": PASSWORD}


# -- the whole fetch, against moto and an IMDSv2 stand-in ------------------------------------


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture
def granted(moto):
    """A SecureString and a role allowed to read it; from here on moto checks every request."""
    moto.trust_everyone()
    moto.put_secure_string(PARAMETER, PASSWORD)
    credentials = moto.role_credentials()
    moto.enforce_auth()
    return credentials


def write_app_env(tmp_path: Path, **lines: str) -> Path:
    """An app.env as cloud-init writes it (components/cloud_init.py's quoting), the DigitalOcean part left out."""
    env = tmp_path / "app.env"
    env.write_text("".join(f'{name}="{value}"\n' for name, value in sorted({"APP_ENV": "staging", "DATABASE_HOST": "db.internal", **lines}.items())))
    return env


def aws_lines(moto: MotoServer, imds_url: str, parameter: str = PARAMETER, **more: str) -> dict[str, str]:
    return {"DATABASE_PASSWORD_PARAMETER": parameter, "AWS_REGION": REGION, "AWS_ENDPOINT_URL_SSM": moto.url, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_url, **more}


def fetch(tmp_path: Path, env_file: Path, deadline: float = 30) -> tuple[subprocess.CompletedProcess, Path, float]:
    """Run the fetcher as the unit does; the secret must never be in what it prints, whatever happens."""
    output = tmp_path / "run" / "webapp" / "secrets.env"
    started = time.monotonic()
    result = subprocess.run(
        [SYSTEM_PYTHON, "-I", str(FETCHER), "--env-file", str(env_file), "--output", str(output), "--deadline", str(deadline)],
        capture_output=True,
        text=True,
        timeout=deadline + 60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    for part in SECRET_WORDS:
        assert part not in result.stdout + result.stderr, "a secret reached the journal"
    return result, output, time.monotonic() - started


def test_writes_the_password_into_a_private_env_file(tmp_path, moto, granted):
    with MetadataStandIn(granted) as imds:
        result, output, _ = fetch(tmp_path, write_app_env(tmp_path, **aws_lines(moto, imds.url)))
    assert result.returncode == 0, result.stderr
    assert output.read_text() == 'DATABASE_PASSWORD="c0rrect \\"horse\\" \\\\battery $HOME #staple;`x`"\n'
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert output.stat().st_uid == os.geteuid()
    assert sorted(path.name for path in output.parent.iterdir()) == ["secrets.env"], "a temporary file was left behind"
    # IMDSv2 only: a token first, every GET with it.
    assert imds.requests[0][:2] == ("PUT", "/latest/api/token")
    assert all(valid for method, _, valid, _ in imds.requests if method == "GET"), imds.requests
    assert f"from SSM parameter {PARAMETER}" in result.stdout


def test_does_nothing_where_user_data_carries_the_password(tmp_path):
    """DigitalOcean: no *_PARAMETER in app.env, nothing to fetch, nothing written."""
    result, output, _ = fetch(tmp_path, write_app_env(tmp_path, DATABASE_PASSWORD="from-user-data", APP_SECRET="from-user-data"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not output.exists()


@pytest.fixture
def granted_both(moto):
    """The database password and the app secret as SecureStrings, and a role allowed to read them."""
    moto.trust_everyone()
    moto.put_secure_string(PARAMETER, PASSWORD)
    moto.put_secure_string(SECRET_PARAMETER, APP_SECRET)
    credentials = moto.role_credentials()
    moto.enforce_auth()
    return credentials


def test_writes_every_named_secret_into_one_env_file(tmp_path, moto, granted_both):
    """What the AWS program's user-data names (components/common/cloud_init.py: aws_app_environment): both secrets, one file."""
    with MetadataStandIn(granted_both) as imds:
        lines = aws_lines(moto, imds.url, APP_SECRET_PARAMETER=SECRET_PARAMETER, DATABASE_PASSWORD_VERSION="1", APP_SECRET_VERSION="1")
        result, output, _ = fetch(tmp_path, write_app_env(tmp_path, **lines))
    assert result.returncode == 0, result.stderr
    assert output.read_text() == 'APP_SECRET="zebra-\'quagga\' $okapi"\nDATABASE_PASSWORD="c0rrect \\"horse\\" \\\\battery $HOME #staple;`x`"\n'
    assert fetch_secrets.parse_env_file(output.read_text()) == {"APP_SECRET": APP_SECRET, "DATABASE_PASSWORD": PASSWORD}
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert sorted(path.name for path in output.parent.iterdir()) == ["secrets.env"], "a temporary file was left behind"
    assert f"APP_SECRET from SSM parameter {SECRET_PARAMETER}" in result.stdout and f"DATABASE_PASSWORD from SSM parameter {PARAMETER}" in result.stdout
    # One session's credentials serve both parameters: one token, two GETs.
    assert [method for method, *_ in imds.requests] == ["PUT", "GET", "GET"], imds.requests


def test_only_the_app_secret_is_fetched_when_only_it_is_named(tmp_path, moto, granted_both):
    lines = {"APP_SECRET_PARAMETER": SECRET_PARAMETER, "AWS_REGION": REGION, "AWS_ENDPOINT_URL_SSM": moto.url}
    with MetadataStandIn(granted_both) as imds:
        result, output, _ = fetch(tmp_path, write_app_env(tmp_path, DATABASE_PASSWORD="from-user-data", AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url, **lines))
    assert result.returncode == 0, result.stderr
    assert fetch_secrets.parse_env_file(output.read_text()) == {"APP_SECRET": APP_SECRET}


def test_parameters_outside_the_allow_list_are_never_fetched(tmp_path, moto, granted_both):
    """A stack's own env may hold a *_PARAMETER name: it must not choose what lands in the app's environment (PATH here)."""
    with MetadataStandIn(granted_both) as imds:
        env_file = write_app_env(tmp_path, PATH_PARAMETER=SECRET_PARAMETER, **aws_lines(moto, imds.url))
        result, output, _ = fetch(tmp_path, env_file)
        assert result.returncode == 0, result.stderr
        assert fetch_secrets.parse_env_file(output.read_text()) == {"DATABASE_PASSWORD": PASSWORD}
        # ... and a file that names only such a parameter is a file with nothing to fetch.
        output.unlink()
        only = tmp_path / "only"
        only.mkdir()
        result, output, _ = fetch(only, write_app_env(only, PATH_PARAMETER=SECRET_PARAMETER, AWS_REGION=REGION, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not output.exists()


def test_waits_for_the_instance_role_to_appear(tmp_path, moto, granted):
    with MetadataStandIn(granted, missing_role_for=1) as imds:
        result, output, _ = fetch(tmp_path, write_app_env(tmp_path, **aws_lines(moto, imds.url)))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("no instance role credentials yet (HTTP 404); retrying") == 1, result.stderr
    assert output.exists()


def failed(result: subprocess.CompletedProcess, output: Path) -> str:
    """The failure's last line (what the journal shows), after checking it stopped the app's start."""
    assert result.returncode != 0
    assert not output.exists()
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("fetch_secrets: ") for line in lines), result.stderr
    return lines[-1]


def test_a_missing_parameter_fails_at_once(tmp_path, moto, granted):
    with MetadataStandIn(granted) as imds:
        result, output, seconds = fetch(tmp_path, write_app_env(tmp_path, **aws_lines(moto, imds.url, parameter="/immutable-web/staging/no-such")))
    assert "HTTP 400 ParameterNotFound" in failed(result, output)
    assert seconds < 15, "no retry can create the parameter: it must not wait for the deadline"


def test_one_missing_parameter_of_two_writes_neither(tmp_path, moto, granted_both):
    """All or nothing: the password alone would start an app without its secret."""
    with MetadataStandIn(granted_both) as imds:
        lines = aws_lines(moto, imds.url, APP_SECRET_PARAMETER="/immutable-web/staging/no-such-secret")
        result, output, seconds = fetch(tmp_path, write_app_env(tmp_path, **lines))
    last = failed(result, output)
    assert "/immutable-web/staging/no-such-secret: HTTP 400 ParameterNotFound" in last, last
    assert seconds < 15
    assert not output.parent.exists() or not any(output.parent.iterdir()), "a temporary file was left behind"


def test_a_parameter_without_a_region_fails_at_once(tmp_path):
    # Nothing listens there: whatever happens, this machine's own metadata service is never asked.
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    env_file = write_app_env(tmp_path, APP_SECRET_PARAMETER=SECRET_PARAMETER, AWS_EC2_METADATA_SERVICE_ENDPOINT=nothing_listens)
    result, output, _ = fetch(tmp_path, env_file, deadline=3)
    assert "APP_SECRET_PARAMETER set but AWS_REGION is not" in failed(result, output)
    assert "retrying" not in result.stderr


def test_a_wrong_signature_is_refused(tmp_path, moto, granted):
    """moto recomputes the signature with the role's real secret key."""
    with MetadataStandIn({**granted, "SecretAccessKey": granted["SecretAccessKey"][::-1]}) as imds:
        result, output, seconds = fetch(tmp_path, write_app_env(tmp_path, **aws_lines(moto, imds.url)))
    assert "HTTP 403 SignatureDoesNotMatch" in failed(result, output)
    assert seconds < 15, "no retry fixes a wrong key: it must not wait for the deadline"


def test_a_role_without_get_parameter_is_denied(tmp_path, moto):
    """Denied is retried (a new role's policy takes seconds to reach every IAM endpoint), until the deadline."""
    moto.trust_everyone()
    moto.put_secure_string(PARAMETER, PASSWORD)
    credentials = moto.role_credentials(actions=("ssm:GetParameters", "kms:Decrypt"))
    moto.enforce_auth()
    with MetadataStandIn(credentials) as imds:
        result, output, _ = fetch(tmp_path, write_app_env(tmp_path, **aws_lines(moto, imds.url)), deadline=1.5)
    last = failed(result, output)
    assert "HTTP 403 AccessDenied" in last and "ssm:GetParameter" in last and "gave up after" in last, last


def test_never_falls_back_to_imdsv1(tmp_path, moto, granted):
    """A metadata service that refuses session tokens is an error: no GET without a token is ever tried."""
    with MetadataStandIn(granted, refuse_tokens=True) as imds:
        result, output, seconds = fetch(tmp_path, write_app_env(tmp_path, **aws_lines(moto, imds.url)))
    assert "refused an IMDSv2 session token (HTTP 403)" in failed(result, output)
    assert [method for method, *_ in imds.requests] == ["PUT"], imds.requests
    assert seconds < 15


def test_gives_up_within_its_deadline_when_the_metadata_service_is_down(tmp_path, moto):
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    result, output, seconds = fetch(tmp_path, write_app_env(tmp_path, **aws_lines(moto, nothing_listens)), deadline=1.5)
    last = failed(result, output)
    assert "no answer" in last and "gave up after" in last, last
    assert seconds < 1.5 + 10, f"took {seconds:.1f}s"
    assert "retrying" in result.stderr


def test_a_value_an_env_file_cannot_hold_fails_without_printing_it(tmp_path, moto):
    moto.trust_everyone()
    moto.put_secure_string(PARAMETER, PASSWORD + "\nstaple-two")
    credentials = moto.role_credentials()
    moto.enforce_auth()
    with MetadataStandIn(credentials) as imds:
        result, output, _ = fetch(tmp_path, write_app_env(tmp_path, **aws_lines(moto, imds.url)))
    assert "line break" in failed(result, output)


def test_an_app_secret_an_env_file_cannot_hold_is_named_not_printed(tmp_path, moto):
    moto.trust_everyone()
    moto.put_secure_string(PARAMETER, PASSWORD)
    moto.put_secure_string(SECRET_PARAMETER, APP_SECRET + "\rokapi-two")
    credentials = moto.role_credentials()
    moto.enforce_auth()
    with MetadataStandIn(credentials) as imds:
        result, output, _ = fetch(tmp_path, write_app_env(tmp_path, **aws_lines(moto, imds.url, APP_SECRET_PARAMETER=SECRET_PARAMETER)))
    last = failed(result, output)
    assert "APP_SECRET:" in last and "line break" in last, last


PREVIOUS_PARAMETER = "/immutable-web/staging/app-secret-previous"
PREVIOUS_APP_SECRET = "wombat-'quokka' $numbat"


def test_the_previous_app_secret_lands_in_the_same_private_env_file(tmp_path, moto):
    """A rotation's grace period (components/aws/fleet.py): a third SecureString, named by APP_SECRET_PREVIOUS_PARAMETER."""
    moto.trust_everyone()
    for name, value in ((PARAMETER, PASSWORD), (SECRET_PARAMETER, APP_SECRET), (PREVIOUS_PARAMETER, PREVIOUS_APP_SECRET)):
        moto.put_secure_string(name, value)
    credentials = moto.role_credentials()
    moto.enforce_auth()
    with MetadataStandIn(credentials) as imds:
        lines = aws_lines(moto, imds.url, APP_SECRET_PARAMETER=SECRET_PARAMETER, APP_SECRET_PREVIOUS_PARAMETER=PREVIOUS_PARAMETER, APP_SECRET_PREVIOUS_VERSION="1")
        result, output, _ = fetch(tmp_path, write_app_env(tmp_path, **lines))
    assert result.returncode == 0, result.stderr
    for word in ("wombat", "quokka", "numbat"):
        assert word not in result.stdout + result.stderr, "the previous secret reached the journal"
    assert fetch_secrets.parse_env_file(output.read_text()) == {"APP_SECRET": APP_SECRET, "APP_SECRET_PREVIOUS": PREVIOUS_APP_SECRET, "DATABASE_PASSWORD": PASSWORD}
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert f"APP_SECRET_PREVIOUS from SSM parameter {PREVIOUS_PARAMETER}" in result.stdout


def test_a_missing_previous_app_secret_writes_no_secret_at_all(tmp_path, moto, granted_both):
    """All or nothing, as for the other two: an app started without it would log everyone out, silently."""
    with MetadataStandIn(granted_both) as imds:
        lines = aws_lines(moto, imds.url, APP_SECRET_PARAMETER=SECRET_PARAMETER, APP_SECRET_PREVIOUS_PARAMETER="/immutable-web/staging/no-such-previous")
        result, output, seconds = fetch(tmp_path, write_app_env(tmp_path, **lines))
    assert "/immutable-web/staging/no-such-previous: HTTP 400 ParameterNotFound" in failed(result, output)
    assert seconds < 15


MIGRATION_PARAMETER = "/immutable-web/staging/database-migration-password"
MIGRATION_PASSWORD = "owner-only-wombat-61d0"


def test_the_owners_password_lands_in_a_file_of_its_own_and_each_file_names_only_its_own_secrets(tmp_path, moto):
    """migration.env names the master's password (webapp-migrate.service's alone); app.env the app's. Neither may pull the other's
    secret into its file: app.env naming DATABASE_MIGRATION_PASSWORD_PARAMETER, or migration.env naming APP_SECRET_PARAMETER, fetches nothing."""
    moto.trust_everyone()
    moto.put_secure_string(PARAMETER, PASSWORD)
    moto.put_secure_string(SECRET_PARAMETER, APP_SECRET)
    moto.put_secure_string(MIGRATION_PARAMETER, MIGRATION_PASSWORD)
    credentials = moto.role_credentials()
    moto.enforce_auth()
    migration_env = tmp_path / "migration.env"
    migration_env.write_text(f'DATABASE_MIGRATION_USER="hello"\nDATABASE_MIGRATION_PASSWORD_PARAMETER="{MIGRATION_PARAMETER}"\nAPP_SECRET_PARAMETER="{SECRET_PARAMETER}"\n')
    output, migration_output = tmp_path / "run" / "webapp" / "secrets.env", tmp_path / "run" / "webapp" / "migration-secrets.env"
    with MetadataStandIn(credentials) as imds:
        env_file = write_app_env(tmp_path, DATABASE_MIGRATION_PASSWORD_PARAMETER=MIGRATION_PARAMETER, **aws_lines(moto, imds.url))
        result = subprocess.run(
            [SYSTEM_PYTHON, "-I", str(FETCHER), "--env-file", str(env_file), "--output", str(output), "--migration-env-file", str(migration_env), "--migration-output", str(migration_output)],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    assert result.returncode == 0, result.stderr
    assert "wombat" not in result.stdout + result.stderr and not [word for word in SECRET_WORDS if word in result.stdout + result.stderr]
    assert fetch_secrets.parse_env_file(output.read_text()) == {"DATABASE_PASSWORD": PASSWORD}
    assert fetch_secrets.parse_env_file(migration_output.read_text()) == {"DATABASE_MIGRATION_PASSWORD": MIGRATION_PASSWORD}
    for path in (output, migration_output):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert sorted(path.name for path in output.parent.iterdir()) == ["migration-secrets.env", "secrets.env"]
    assert f"wrote {migration_output}: DATABASE_MIGRATION_PASSWORD from SSM parameter {MIGRATION_PARAMETER}" in result.stdout
