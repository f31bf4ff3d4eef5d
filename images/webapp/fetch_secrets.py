"""Fetch the app's secrets at boot, on AWS, before the app starts (webapp-secrets.service).

On AWS no secret is in user-data (anyone allowed ec2:Describe* can read a launch
template's user-data): the program stores each in SSM Parameter Store as a SecureString
and writes only its name into /etc/webapp/app.env:

    DATABASE_PASSWORD_PARAMETER="/immutable-web/<stack>/database-password"
    APP_SECRET_PARAMETER="/immutable-web/<stack>/app-secret"
    APP_SECRET_PREVIOUS_PARAMETER="/immutable-web/<stack>/app-secret-previous"  (a rotation's grace period only)
    AWS_REGION="<region>"

and the schema owner's (RDS's master user) into /etc/webapp/migration.env, which only
webapp-migrate.service loads:

    DATABASE_MIGRATION_PASSWORD_PARAMETER="/immutable-web/<stack>/database-migration-password"

This script, run as root by a oneshot unit ordered before webapp.service and webapp-migrate.service:

1. reads /etc/webapp/app.env and, for each secret of SECRET_NAMES (an allow-list:
   DATABASE_PASSWORD, APP_SECRET, APP_SECRET_PREVIOUS) whose <NAME>_PARAMETER it sets, notes the parameter;
   a <NAME>_PARAMETER for any other name is ignored (a stack's own env may hold such a
   name, and it must not choose what lands in the app's environment); with none
   (DigitalOcean, where user-data carries the secrets) it does nothing and exits 0; likewise
   migration.env, if there is one, for MIGRATION_SECRET_NAMES alone (DATABASE_MIGRATION_PASSWORD):
   neither file may name the other's secrets;
2. asks the instance metadata service for the instance role's credentials, IMDSv2 only
   (a session token first, then every GET carries it; it never falls back to IMDSv1);
3. calls SSM GetParameter (WithDecryption) with them, once per parameter, signed with
   Signature Version 4;
4. writes /run/webapp/migration-secrets.env (the owner's password, for webapp-migrate.service
   alone), then /run/webapp/secrets.env (the app's, which webapp.service reads), each mode 0600,
   one `NAME="..."` line per secret in systemd's EnvironmentFile quoting, atomically; nothing
   is written unless every secret was fetched. The instance role may read both, and only root
   can ask for its credentials (the base image's nftables rule keeps the metadata endpoint
   from every other user): the app's user can fetch neither.

Everything is retried with backoff until a deadline (the instance role's credentials
can take seconds to appear on a first boot; a value already fetched is kept across
attempts); errors that no retry can fix (no such parameter, a refused signature or
token) stop at once. Each failure is one line on stderr (the journal) that never holds
a secret or the credentials; the exit status is non-zero and nothing is written, so
webapp.service (Requires=) does not start without its secrets, the deep health check
fails and the rollout's gate stops the deploy.

Standard library only: botocore (Debian's python3-botocore) would add ~79 MB to the image
for a few HTTP calls. Endpoint overrides, read from app.env as the AWS SDKs read them from
the environment: AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

APP_ENV = "/etc/webapp/app.env"
SECRETS_ENV = "/run/webapp/secrets.env"
MIGRATION_ENV = "/etc/webapp/migration.env"
MIGRATION_SECRETS_ENV = "/run/webapp/migration-secrets.env"
# The secrets this script may write into the app's environment, each named in app.env by
# <NAME>_PARAMETER. An allow-list: app.env's other *_PARAMETER lines are not secrets to fetch.
SECRET_NAMES = ("DATABASE_PASSWORD", "APP_SECRET", "APP_SECRET_PREVIOUS")
# The schema owner's, named in migration.env alone, written for webapp-migrate.service alone.
MIGRATION_SECRET_NAMES = ("DATABASE_MIGRATION_PASSWORD",)
PARAMETER_SUFFIX = "_PARAMETER"
IMDS_ENDPOINT = "http://169.254.169.254"
# What one attempt may wait for one answer, and what all attempts together may take
# (webapp-secrets.service's TimeoutStartSec leaves room above it).
REQUEST_TIMEOUT_SECONDS = 5.0
DEADLINE_SECONDS = 120.0
# Waits between attempts: 1, 2, 4, 8, then 10 s each, until the deadline.
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 10.0
TOKEN_TTL_SECONDS = "300"


class PermanentError(Exception):
    """A failure no retry fixes (a missing parameter, a refused signature, bad config)."""


class TransientError(Exception):
    """A failure worth retrying (no answer yet, no role credentials yet, throttling, 5xx)."""


# -- app.env -------------------------------------------------------------------


def parse_env_file(text: str) -> dict[str, str]:
    """systemd's EnvironmentFile= lines: NAME=value, NAME="value" (backslash escapes), NAME='value'; # and ; comments."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        name, raw = (part.strip() for part in line.split("=", 1))
        if raw[:1] == '"' and raw.endswith('"') and len(raw) >= 2:
            value, escaped = [], False
            for char in raw[1:-1]:
                if escaped:
                    value.append(char)
                    escaped = False
                elif char == "\\":
                    escaped = True
                else:
                    value.append(char)
            values[name] = "".join(value)
        elif raw[:1] == "'" and raw.endswith("'") and len(raw) >= 2:
            values[name] = raw[1:-1]
        else:
            values[name] = raw
    return values


def quote_env_value(value: str) -> str:
    """A double-quoted EnvironmentFile= value: systemd expands nothing in it, so only " and \\ are escaped."""
    if "\n" in value or "\r" in value:
        raise PermanentError("the parameter's value holds a line break, which an environment file cannot carry")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- Signature Version 4 ---------------------------------------------------------


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sigv4_headers(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    region: str,
    service: str,
    access_key: str,
    secret_key: str,
    token: str | None,
    now: datetime.datetime,
) -> dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, X-Amz-Security-Token and the Authorization that signs them all.

    Every header given is signed (names lower-cased, values trimmed), as botocore's SigV4Auth
    does; the payload's SHA-256 is part of the signature. ``url`` has no query string here.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    amz_date = now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    signed = {**headers, "Host": host, "X-Amz-Date": amz_date}
    if token:
        signed["X-Amz-Security-Token"] = token
    canonical = {name.lower(): " ".join(value.split()) for name, value in signed.items()}
    names = sorted(canonical)
    canonical_request = "\n".join(
        [
            method,
            urllib.parse.quote(parts.path or "/", safe="/~"),
            "",
            "".join(f"{name}:{canonical[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode(), amz_date[:8]), region), service), "aws4_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed["Authorization"] = f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return signed


# -- HTTP ----------------------------------------------------------------------


# Straight to the endpoint: never through a proxy named in the environment (the metadata
# service must be asked directly, and the unit sets none).
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) for any answer; TransientError if nothing answered."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with OPENER.open(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return response.status, {name.lower(): value for name, value in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {name.lower(): value for name, value in error.headers.items()}, error.read()
    except (OSError, ValueError) as error:  # refused, unreachable, timed out, a broken answer
        reason = getattr(error, "reason", error)
        raise TransientError(f"{method} {url}: no answer ({reason})") from None


# -- the instance role's credentials (IMDSv2) -------------------------------------


def role_credentials(endpoint: str) -> dict[str, str]:
    """AccessKeyId, SecretAccessKey and Token of the instance's role, through an IMDSv2 session."""
    base = endpoint.rstrip("/")
    status, _, token = http("PUT", f"{base}/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL_SECONDS})
    if status in (400, 403, 405):
        # 403: the metadata service is off, or refuses tokens; we never fall back to IMDSv1.
        raise PermanentError(f"instance metadata refused an IMDSv2 session token (HTTP {status})")
    if status != 200 or not token:
        raise TransientError(f"instance metadata token: HTTP {status}")
    session = {"X-aws-ec2-metadata-token": token.decode("ascii", "replace")}
    roles_url = f"{base}/latest/meta-data/iam/security-credentials/"
    status, _, roles = http("GET", roles_url, session)
    if status != 200 or not roles.strip():
        # 404 until the instance profile's role is attached (first seconds of a first boot).
        raise TransientError(f"no instance role credentials yet (HTTP {status})")
    role = roles.decode().split()[0]
    status, _, document = http("GET", roles_url + urllib.parse.quote(role), session)
    if status != 200:
        raise TransientError(f"instance role {role}: HTTP {status}")
    try:
        credentials = json.loads(document)
        if credentials.get("Code", "Success") != "Success":
            raise TransientError(f"instance role {role}: {credentials.get('Code')}")
        return {name: str(credentials[name]) for name in ("AccessKeyId", "SecretAccessKey", "Token")}
    except (ValueError, KeyError, AttributeError):
        raise TransientError(f"instance role {role}: not a credentials document") from None


# -- SSM GetParameter ----------------------------------------------------------------

# SSM error types no retry fixes. Any other error is retried until the deadline: throttling,
# 5xx, and AccessDenied (a role's new policy can take seconds to reach every IAM endpoint).
PERMANENT_ERRORS = frozenset(
    {
        "ParameterNotFound",
        "ParameterVersionNotFound",
        "InvalidKeyId",
        "ValidationException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "ExpiredTokenException",
    }
)


def error_code(headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """(error type, message) of an AWS error answer: JSON 1.1's `__type`, the x-amzn-ErrorType header, or a Query-style XML <Code>."""
    code, message = headers.get("x-amzn-errortype", "").split(":", 1)[0], ""
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = None
    if isinstance(document, dict):
        # "ParameterNotFound" or "com.amazonaws.ssm#ParameterNotFound"
        code = str(document.get("__type", "")).rsplit("#", 1)[-1] or code
        message = str(document.get("message") or document.get("Message") or "")
    else:
        text = body.decode(errors="replace")
        code = code or _between(text, "<Code>", "</Code>")
        message = _between(text, "<Message>", "</Message>")
    # Messages name the parameter or the caller, never a value; cut anyway, for one readable line.
    return code or "error", " ".join(message.split())[:200]


def _between(text: str, start: str, end: str) -> str:
    _, found, tail = text.partition(start)
    return tail.partition(end)[0] if found else ""


def get_parameter(endpoint: str, region: str, name: str, credentials: Mapping[str, str]) -> str:
    """The decrypted value of SSM parameter ``name`` (AWS JSON 1.1 protocol)."""
    body = json.dumps({"Name": name, "WithDecryption": True}).encode()
    url = endpoint.rstrip("/") + "/"
    headers = sigv4_headers(
        method="POST",
        url=url,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter"},
        body=body,
        region=region,
        service="ssm",
        access_key=credentials["AccessKeyId"],
        secret_key=credentials["SecretAccessKey"],
        token=credentials["Token"],
        now=datetime.datetime.now(datetime.UTC),
    )
    status, answer_headers, answer = http("POST", url, headers, body)
    if status == 200:
        try:
            return str(json.loads(answer)["Parameter"]["Value"])
        except (ValueError, KeyError, TypeError):
            raise TransientError("SSM GetParameter: an answer without Parameter.Value") from None
    code, message = error_code(answer_headers, answer)
    line = f"SSM GetParameter {name}: HTTP {status} {code}{': ' + message if message else ''}"
    raise (PermanentError if code in PERMANENT_ERRORS else TransientError)(line)


# -- the whole fetch -----------------------------------------------------------------


def ssm_endpoint(env: Mapping[str, str], region: str) -> str:
    return env.get("AWS_ENDPOINT_URL_SSM") or env.get("AWS_ENDPOINT_URL") or f"https://ssm.{region}.amazonaws.com"


def parameters_named(env: Mapping[str, str], names: tuple[str, ...] = SECRET_NAMES) -> dict[str, str]:
    """Secret name -> SSM parameter name, for each allowed secret (``names``) the file names a parameter for."""
    return {name: env[name + PARAMETER_SUFFIX] for name in names if env.get(name + PARAMETER_SUFFIX)}


def fetch_secrets(env: Mapping[str, str], deadline_seconds: float, parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """Secret name -> value for every parameter app.env names; or the failure, at the first
    permanent one or the last transient one past the deadline.

    Each attempt asks for fresh role credentials, then for the values not fetched yet.
    A last attempt started just before the deadline may outlast it by its own requests'
    timeouts (three, plus one per parameter, of REQUEST_TIMEOUT_SECONDS at most): the
    unit's TimeoutStartSec covers that.
    """
    parameters = parameters_named(env) if parameters is None else parameters
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        raise PermanentError(f"{', '.join(name + PARAMETER_SUFFIX for name in parameters)} set but AWS_REGION is not")
    imds = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or IMDS_ENDPOINT
    ssm = ssm_endpoint(env, region)
    deadline = time.monotonic() + deadline_seconds
    backoff, attempt = FIRST_BACKOFF_SECONDS, 1
    values: dict[str, str] = {}
    while True:
        try:
            credentials = role_credentials(imds)
            for name, parameter in parameters.items():
                if name not in values:
                    values[name] = get_parameter(ssm, region, parameter, credentials)
            return values
        except TransientError as error:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientError(f"{error} (gave up after {attempt} attempts, {deadline_seconds:g}s)") from None
            print(f"fetch_secrets: attempt {attempt}: {error}; retrying", file=sys.stderr, flush=True)
            time.sleep(min(backoff, remaining))
            backoff, attempt = min(backoff * 2, MAX_BACKOFF_SECONDS), attempt + 1


def render_secrets(values: Mapping[str, str]) -> str:
    """secrets.env: one NAME="value" line per secret, sorted; a value no env file can carry names its secret, never itself."""
    lines = []
    for name in sorted(values):
        try:
            lines.append(f"{name}={quote_env_value(values[name])}\n")
        except PermanentError as error:
            raise PermanentError(f"{name}: {error}") from None
    return "".join(lines)


def write_atomically(path: str, content: str) -> None:
    """Write ``content`` to ``path`` with mode 0600: a temporary file in the same folder, then rename."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".secrets-")  # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", default=APP_ENV)
    parser.add_argument("--output", default=SECRETS_ENV)
    parser.add_argument("--migration-env-file", default=MIGRATION_ENV)
    parser.add_argument("--migration-output", default=MIGRATION_SECRETS_ENV)
    parser.add_argument("--deadline", type=float, default=DEADLINE_SECONDS, help="seconds all attempts together may take")
    args = parser.parse_args(argv)
    try:
        with open(args.env_file, encoding="utf-8") as handle:
            env = parse_env_file(handle.read())
    except OSError as error:
        print(f"fetch_secrets: cannot read {args.env_file}: {error.strerror}", file=sys.stderr)
        return 1
    try:
        with open(args.migration_env_file, encoding="utf-8") as handle:
            migration = parameters_named(parse_env_file(handle.read()), MIGRATION_SECRET_NAMES)
    except FileNotFoundError:
        migration = {}  # no schema owner's credential on this server
    except OSError as error:
        print(f"fetch_secrets: cannot read {args.migration_env_file}: {error.strerror}", file=sys.stderr)
        return 1
    serving = parameters_named(env)
    if not serving and not migration:
        return 0  # the secrets, if any, are in the env files themselves (DigitalOcean)
    outputs = [(path, named) for path, named in ((args.migration_output, migration), (args.output, serving)) if named]
    written = args.output
    try:
        values = fetch_secrets(env, args.deadline, {**serving, **migration})
        for path, named in outputs:
            # The app's file last: it gates webapp.service, so it never exists without the owner's.
            written = path
            write_atomically(path, render_secrets({name: values[name] for name in named}))
    except (PermanentError, TransientError) as error:
        print(f"fetch_secrets: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"fetch_secrets: cannot write {written}: {error.strerror}", file=sys.stderr)
        return 1
    for path, named in outputs:
        print(f"fetch_secrets: wrote {path}: " + ", ".join(f"{name} from SSM parameter {named[name]}" for name in sorted(named)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
