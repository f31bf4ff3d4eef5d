"""Stand-ins for the two AWS services the image asks at boot: SSM (a real moto server) and the instance metadata service.

    with MotoServer() as moto, MetadataStandIn(moto.role_credentials(...)) as imds:
        ...  # point AWS_ENDPOINT_URL_SSM at moto.url, AWS_EC2_METADATA_SERVICE_ENDPOINT at imds.url

- `MotoServer` runs `moto.server` (the `moto[server]` dev dependency) in its own process on
  127.0.0.1. Setting up (a role, its policy, a SecureString, `sts:AssumeRole` for the role's
  temporary credentials) runs with authentication off; `enforce_auth()` then makes moto check
  every request's SigV4 signature, session token and the caller's IAM policy, as AWS does.
  moto evaluates SSM actions against the resource `*`, so a policy statement scoped to the
  parameter's ARN is not matched there: the role's test policy names the actions on `*`.
- `MetadataStandIn` answers the IMDSv2 calls the fetcher makes (PUT /latest/api/token, then
  GETs carrying the token), refuses a GET without a valid token (401, as an instance with
  `HttpTokens=required` does), and records every request so a test can check none went
  without one. `refuse_tokens=True` answers the token PUT with 403 (metadata service off);
  `missing_role_for=N` answers the first N credential listings with 404, as in the first
  seconds of a boot before the instance profile is attached.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from postgres import free_port

REGION = "eu-west-1"
ROLE_NAME = "webapp-instance"
# What the program gives the instance role (the real policy scopes the resource to the parameter's
# ARN, and kms:Decrypt to the SSM service's use of the AWS-managed key; see the module docstring).
ROLE_ACTIONS = ("ssm:GetParameter", "kms:Decrypt")


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        # The credentials of a role made by `role_credentials`, for whoever keeps one per server.
        self.role: dict[str, str] = {}

    def __enter__(self) -> MotoServer:
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"moto server exited ({self.process.returncode})") from None
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("moto server did not answer within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def _auth(self, count: str) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset-auth", data=count.encode(), method="POST", headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(request, timeout=10).close()

    def enforce_auth(self) -> None:
        """From now on every request must be signed by known credentials allowed by their IAM policy."""
        self._auth("0")

    def trust_everyone(self) -> None:
        """Authentication off (setting up)."""
        self._auth("inf")

    def client(self, service: str, region: str = REGION) -> Any:
        import boto3  # moto's own dependency

        return boto3.client(service, region_name=region, endpoint_url=self.url, aws_access_key_id="setup", aws_secret_access_key="setup")

    def put_secure_string(self, name: str, value: str, region: str = REGION) -> None:
        """SSM keeps parameters per region (moto too): put it where the fetcher's AWS_REGION will look."""
        self.client("ssm", region).put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)

    def role_credentials(self, actions: tuple[str, ...] = ROLE_ACTIONS) -> dict[str, str]:
        """A role allowed ``actions``, assumed: the temporary credentials an instance profile hands out."""
        iam = self.client("iam")
        name = f"{ROLE_NAME}-{secrets.token_hex(4)}"
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
        iam.put_role_policy(RoleName=name, PolicyName="read-database-password", PolicyDocument=json.dumps(policy))
        assumed = self.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="i-0123456789abcdef0")["Credentials"]
        return {"AccessKeyId": assumed["AccessKeyId"], "SecretAccessKey": assumed["SecretAccessKey"], "Token": assumed["SessionToken"], "RoleName": name}


class MetadataStandIn:
    def __init__(self, credentials: dict[str, str], *, refuse_tokens: bool = False, missing_role_for: int = 0, host: str = "127.0.0.1") -> None:
        self.credentials = credentials
        self.refuse_tokens = refuse_tokens
        self.missing_role_for = missing_role_for
        self.host = host
        self.tokens: set[str] = set()
        # (method, path, carried a valid token, status)
        self.requests: list[tuple[str, str, bool, int]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> MetadataStandIn:
        self.server = ThreadingHTTPServer((self.host, 0), self._handler())
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self
        role = self.credentials["RoleName"]

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: str, *, valid: bool) -> None:
                with stand_in.lock:
                    stand_in.requests.append((self.command, self.path, valid, status))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                if self.path != "/latest/api/token":
                    self._answer(404, "", valid=False)
                elif stand_in.refuse_tokens:
                    self._answer(403, "", valid=False)
                elif not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "").isdigit():
                    self._answer(400, "", valid=False)
                else:
                    token = secrets.token_urlsafe(32)
                    with stand_in.lock:
                        stand_in.tokens.add(token)
                    self._answer(200, token, valid=True)

            def do_GET(self) -> None:
                valid = self.headers.get("X-aws-ec2-metadata-token") in stand_in.tokens
                if not valid:
                    self._answer(401, "", valid=False)  # IMDSv2 required: no IMDSv1 answers
                elif self.path == "/latest/meta-data/iam/security-credentials/":
                    with stand_in.lock:
                        missing = stand_in.missing_role_for > 0
                        stand_in.missing_role_for -= 1
                    if missing:
                        self._answer(404, "", valid=True)
                    else:
                        self._answer(200, role, valid=True)
                elif self.path == f"/latest/meta-data/iam/security-credentials/{role}":
                    document = {
                        "Code": "Success",
                        "Type": "AWS-HMAC",
                        "AccessKeyId": stand_in.credentials["AccessKeyId"],
                        "SecretAccessKey": stand_in.credentials["SecretAccessKey"],
                        "Token": stand_in.credentials["Token"],
                        "Expiration": "2099-01-01T00:00:00Z",
                    }
                    self._answer(200, json.dumps(document), valid=True)
                else:
                    self._answer(404, "", valid=True)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
                pass

        return Handler
