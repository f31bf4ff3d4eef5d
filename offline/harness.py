"""Run the real Pulumi program offline: the real `__main__.py`, the real stack files, Pulumi's mocks.

This is what the tests and the `plan` command stand on. It does what the
Pulumi CLI does before it starts a Python program (merge `Pulumi.yaml`
defaults with `Pulumi.<stack>.yaml`, hand every value over as a string,
mark secret keys), then runs the program under `pulumi.runtime.set_mocks`
with mocks that answer like DigitalOcean and pulumi-command would, and
records every resource: type, name, parent, inputs (and which are secret),
resource options, and the outputs the mocks gave it.

Mocked values are deterministic (derived from the resource's type and name),
so two runs of the same commit give identical records.

Secure config values (`secure: v1:...` in a stack file, or declared
`secret: true` in Pulumi.yaml and absent) are replaced by test secrets:
ciphertext can only be decrypted by the stack's own secrets provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
import runpy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pulumi
import yaml
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings

from config.declarations import as_config_string, declarations_of
from offline import aws_mocks
from offline.providers import always_replaces

PROJECT_DIR = Path(__file__).resolve().parent.parent
MAIN = PROJECT_DIR / "__main__.py"

# What a test secret looks like: easy to find if it ever leaks into an output or a log.
TEST_SECRET_PREFIX = "test-secret-"
MOCK_DB_PASSWORD_PREFIX = "mock-db-password-"

# What `getDatabaseCa` returns: a real self-signed CA certificate, shaped like DigitalOcean's
# "<project uuid> Project CA" (made once with openssl; nothing trusts it).
MOCK_DATABASE_CA = """\
-----BEGIN CERTIFICATE-----
MIIDZTCCAk2gAwIBAgIUWHy7nHhIzBQk3AIIkG7f5QQh9UIwDQYJKoZIhvcNAQEL
BQAwOjE4MDYGA1UEAwwvM2Y5ZDJjMWUtNWI3YS00YzhlLTlkNjEtMmE0YjhjN2Uw
ZjEzIFByb2plY3QgQ0EwHhcNMjYxMTMwMTIzMTU5WhcNMzYxMTI3MTIzMTU5WjA6
MTgwNgYDVQQDDC8zZjlkMmMxZS01YjdhLTRjOGUtOWQ2MS0yYTRiOGM3ZTBmMTMg
UHJvamVjdCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALaq508L
EmeOvsffdCnVCtIS8JfILhIOJDfgP9LNBPD/fUl2uc6iTHsIiebZtOfXMia6zwiC
elnhHo443HIGVpN2C/boLshO8P5+lohPkWbxT37LXITF9H6bnvhhzxA7Q+Xshia2
qem7t6I1IiWOmqYezlvGspSzec4BeRO+SPJV2cywgxtwTGXcZpKnD1CDONq6u0Qa
09ZKm1b83OmhAfy+ynZmG0fkefXm/H0qmdoS7MZd6n91IfVUvBclVaYLTLSPsRkc
MtlXOq2Eyp5+EjE+Wrkm4voMmMuoojDilptw9+e0rO2fnW/OZsDpvs4IlBFDtyP7
hzE4yeA0GnBle60CAwEAAaNjMGEwHQYDVR0OBBYEFCJtvYoUmGBUAF5jj9M13ge9
Kq40MB8GA1UdIwQYMBaAFCJtvYoUmGBUAF5jj9M13ge9Kq40MA8GA1UdEwEB/wQF
MAMBAf8wDgYDVR0PAQH/BAQDAgEGMA0GCSqGSIb3DQEBCwUAA4IBAQAxoh8c1vuY
uu4Wrk9+jUIfsZQyznt6ArJfMaRAOI8ceCm0X7cYI4dA8MxTmkpgGJubQJxOA5Jf
6WC282z5+tAtEZ/ukMxqGnwn5SEvF9ju/XO7erw5mm+NpYtHYT0g9qLElTutYIFL
lmzNhoI9utdeU8A3yXAd7Qxi48I4atBrwbLKv655eAQgF1AhPFT6LVKsIYVeycQR
Bmq51n5OGJGmo4AYt6YgSW8Ut+qLSs0iRDCua1F5fhvrmxFQRy4584HiDKUrcD5G
P8xV4CP74f8hL4GJJhJB5SRgAQAuUh4ukscPf/wNFhl92Txo7LqcYG8ZaLPWaVVM
EGjp7chQPrUS
-----END CERTIFICATE-----
"""

_UNSET = object()


# ---------------------------------------------------------------------------
# Config, as the Pulumi CLI hands it to the program.


def project_file() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())


# What the Pulumi CLI reads at the top of a stack file; anything else is a typo it would ignore.
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (the Pulumi CLI refuses it too)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                duplicate = key in seen
            except TypeError:
                continue  # an unhashable key: the safe loader's own check names it
            if duplicate:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(None, None, f"line {line}: key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _stack_file_error(path: Path, problem: str) -> Exception:
    from config.values import ConfigError

    return ConfigError([f"{path.name}: {problem}"])


def stack_file(stack: str) -> dict[str, Any]:
    """The stack file, checked the way the Pulumi CLI reads it; a bad file raises ``ConfigError`` naming it."""
    path = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; stacks here: {', '.join(list_stacks())}")
    try:
        document = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}
    except yaml.constructor.ConstructorError as error:
        raise _stack_file_error(path, error.problem or str(error)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise _stack_file_error(path, f"is not valid YAML: {where}{getattr(error, 'problem', None) or error}") from None
    if not isinstance(document, dict):
        raise _stack_file_error(path, f"must be a mapping with a `config:` section, not a {type(document).__name__}")
    unknown = sorted(str(key) for key in document if key not in STACK_FILE_KEYS)
    if unknown:
        raise _stack_file_error(path, f"unknown top-level key(s) {', '.join(unknown)}; a stack file has only {', '.join(STACK_FILE_KEYS)}")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise _stack_file_error(path, f"`config` must be a mapping of key: value, not a {type(config).__name__}")
    not_strings = [repr(key) for key in config if not isinstance(key, str)]
    if not_strings:
        raise _stack_file_error(path, f"config keys must be names like immutable-web:region; got {', '.join(not_strings)}")
    return document


def list_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))


def stack_config(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    secrets: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """The (config, secret_keys) pair the CLI would give the program for ``stack``.

    ``overrides`` keys are short (``fleetCount``) or full (``digitalocean:token``);
    a value of ``None`` removes the key, as `pulumi config rm` would.
    """
    project = project_file()
    namespace = project["name"]
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    # The CLI hands over every declared default the stack does not set (config.declarations reads them alike).
    declared = declarations_of(project)
    for key, declaration in declared.items():
        if declaration.default is not None:
            config[f"{namespace}:{key}"] = declaration.default

    for key, value in (stack_file(stack).get("config") or {}).items():
        full_key = key if ":" in key else f"{namespace}:{key}"
        if isinstance(value, dict) and "secure" in value:
            config[full_key] = TEST_SECRET_PREFIX + full_key.split(":")[-1]
            secret_keys.append(full_key)
        else:
            config[full_key] = as_config_string(value)

    # Declared secrets the stack file does not carry (they are set per machine with
    # `pulumi config set --secret`): supply a test secret.
    for key, declaration in declared.items():
        full_key = f"{namespace}:{key}"
        if declaration.secret and full_key not in config:
            config[full_key] = (secrets or {}).get(key, TEST_SECRET_PREFIX + key)
            secret_keys.append(full_key)

    for key, value in (overrides or {}).items():
        full_key = key if ":" in key else f"{namespace}:{key}"
        if value is None:
            config.pop(full_key, None)
            if full_key in secret_keys:
                secret_keys.remove(full_key)
        else:
            config[full_key] = as_config_string(value)
    return config, secret_keys


# ---------------------------------------------------------------------------
# Mocks that answer like the real providers.


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _number(*parts: str, digits: int = 9) -> str:
    return str(int(_digest(*parts), 16) % (9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


def _uuid(*parts: str) -> str:
    h = _digest(*parts)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _ip(prefix: str, *parts: str) -> str:
    n = int(_digest(*parts), 16)
    return f"{prefix}.{n % 250 + 2}"


def _auto_name(name: str, *parts: str) -> str:
    # Pulumi's auto-naming: the logical name plus a random 7-character suffix.
    return f"{name}-{_digest(name, *parts)[:7]}"


def packer_machine_readable(build: str, region: str, snapshot_id: str, image_name: str) -> str:
    """What `packer build -machine-readable` prints for a DigitalOcean build, trimmed to its shape."""
    t = "1700000000"
    return "\n".join(
        [
            f"{t},,ui,say,==> {build}: Creating temporary RSA SSH key for instance...",
            f"{t},{build},ui,say,==> {build}: Creating snapshot: {image_name}",
            f"{t},,ui,say,Build '{build}' finished after 6 minutes 2 seconds.",
            f"{t},{build},artifact-count,1",
            f"{t},{build},artifact,0,builder-id,pearkes.digitalocean",
            f"{t},{build},artifact,0,id,{region}:{snapshot_id}",
            f"{t},{build},artifact,0,string,A snapshot was created: '{image_name}' (ID: {snapshot_id}) in regions '{region}'",
            f"{t},{build},artifact,0,end",
        ]
    )


class RealisticMocks(pulumi.runtime.Mocks):
    """Answers for every resource type and invoke the program uses, shaped like the real providers'."""

    def __init__(self, stack: str, snapshots: Mapping[str, str] | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None, aws_region: str = "us-east-1"):
        self.stack = stack
        # The AWS provider's region (aws:region): ARNs, zones and endpoints carry it.
        self.aws_region = aws_region
        # image name -> snapshot id, for the PromotedImage lookup (images "baked by staging").
        self.snapshots = dict(snapshots or {})
        # resource type or invoke token -> output values forced by a test (e.g. the database host of a
        # real local PostgreSQL, or its CA certificate for getDatabaseCa).
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        # (type, name) -> the resource's declared replace_on_changes, set by RecordingMonitor before new_resource.
        self.replace_on_changes: dict[tuple[str, str], list[str]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = {k: rpc.unwrap_rpc_secret(v) if rpc.is_rpc_secret(v) else v for k, v in args.inputs.items()}
        typ, name = args.typ, args.name
        key: tuple[str, ...] = (self.stack, typ, name)
        outputs: dict[str, Any] = dict(inputs)
        # A resource the provider or the program (replace_on_changes) must replace gets a new id,
        # as in the cloud; dependents (a health gate waiting for droplet ids) see it change.
        # (Conditional rules, such as a droplet's ipv6 true -> false, need the old value: the mocks leave them out.)
        declared = self.replace_on_changes.get((typ, name), [])
        forcing_keys = set(inputs) if "*" in declared else set(always_replaces(typ)) | {p.split(".")[0].split("[")[0] for p in declared}
        forcing = [f"{p}={json.dumps(inputs.get(p), sort_keys=True)}" for p in sorted(forcing_keys)]
        key = (self.stack, typ, name, *forcing)
        resource_id = _number(*key)

        if typ in aws_mocks.RESOURCES:
            resource_id, computed = aws_mocks.RESOURCES[typ](name, inputs, key, self.aws_region)
            outputs.update(computed)
        elif typ == "digitalocean:index/vpc:Vpc":
            resource_id = _uuid(*key)
            outputs.setdefault("name", _auto_name(name, *key))
            outputs.update(ipRange="10.116.0.0/20", urn=f"do:vpc:{resource_id}", default=False)
        elif typ == "digitalocean:index/tag:Tag":
            resource_id = inputs["name"]
        elif typ == "digitalocean:index/droplet:Droplet":
            outputs.update(
                ipv4Address=_ip("203.0.113", *key),
                ipv4AddressPrivate=_ip("10.116.0", *key),
                status="active",
                dropletUrn=f"do:droplet:{resource_id}",
                urn=f"do:droplet:{resource_id}",
                disk=25,
                memory=1024,
                vcpus=1,
            )
        elif typ == "digitalocean:index/loadBalancer:LoadBalancer":
            resource_id = _uuid(*key)
            outputs.setdefault("name", _auto_name(name, *key))
            outputs.update(ip=_ip("198.51.100", *key), status="active", loadBalancerUrn=f"do:loadbalancer:{resource_id}")
        elif typ == "digitalocean:index/certificate:Certificate":
            resource_id = _uuid(*key)
            outputs.setdefault("name", _auto_name(name, *key))
            outputs.update(state="verified", uuid=resource_id)
        elif typ == "digitalocean:index/databaseCluster:DatabaseCluster":
            resource_id = _uuid(*key)
            cluster = f"db-postgresql-{inputs.get('region', 'nyc3')}-{_number(*key, digits=5)}"
            outputs.setdefault("name", _auto_name(name, *key))
            outputs.update(
                host=f"{cluster}-do-user-0.g.db.ondigitalocean.com",
                privateHost=f"private-{cluster}-do-user-0.g.db.ondigitalocean.com",
                port=25060,
                database="defaultdb",
                user="doadmin",
                password=pulumi.Output.secret("mock-admin-password-" + _digest(*key)[:16]),
                urn=f"do:dbaas:{resource_id}",
            )
        elif typ == "digitalocean:index/databaseUser:DatabaseUser":
            outputs.update(password=MOCK_DB_PASSWORD_PREFIX + _digest(*key)[:16], role="normal")
        elif typ == "digitalocean:index/databaseDb:DatabaseDb":
            resource_id = f"{inputs.get('cluster_id', inputs.get('clusterId'))}/database/{inputs['name']}"
        elif typ == "digitalocean:index/firewall:Firewall":
            resource_id = _uuid(*key)
            outputs.setdefault("name", _auto_name(name, *key))
            outputs.update(status="succeeded")
        elif typ == "digitalocean:index/databaseFirewall:DatabaseFirewall":
            resource_id = _uuid(*key)
        elif typ == "digitalocean:index/domain:Domain":
            resource_id = inputs["name"]
            outputs.update(urn=f"do:domain:{resource_id}", ttl=1800)
        elif typ == "digitalocean:index/dnsRecord:DnsRecord":
            outputs.update(fqdn=f"{inputs['name']}.{inputs['domain']}" if inputs["name"] != "@" else inputs["domain"])
        elif typ == "command:local:Command":
            outputs.update(stdout=self._command_stdout(inputs), stderr="")

        outputs.update(self.overrides.get(typ, {}))
        return resource_id, outputs

    def _command_stdout(self, inputs: Mapping[str, Any]) -> str:
        create = str(inputs.get("create", ""))
        environment = inputs.get("environment") or {}
        if " build " in create and "-only=amazon-ebs." in create:
            build = create.split("-only=")[1].split()[0].strip("'")
            image_name = environment.get("PKR_VAR_image_name", "image")
            regions = [environment.get("PKR_VAR_aws_region", self.aws_region), *json.loads(environment.get("PKR_VAR_aws_copy_regions", "[]"))]
            return aws_mocks.packer_machine_readable(build, {region: aws_mocks.ami_id(image_name, region) for region in regions}, image_name)
        if " build " in create and "-only=" in create:
            build = create.split("-only=")[1].split()[0].strip("'")
            image_name = environment.get("PKR_VAR_image_name", "image")
            region = environment.get("PKR_VAR_region", "nyc3")
            return packer_machine_readable(build, region, _number("snapshot", image_name), image_name)
        if "health_gate.py" in create:
            return json.dumps({"healthy": True, "elapsed_seconds": 42.0})
        return ""

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        if args.token == "digitalocean:index/getDropletSnapshot:getDropletSnapshot":
            name = args.args.get("name")
            if name not in self.snapshots:
                raise Exception(f"Error: no snapshot found with name {name}")  # the provider's wording
            region = args.args.get("region", "nyc3")
            snapshot_id = self.snapshots[name]
            return {"id": snapshot_id, "name": name, "region": region, "regions": [region], "minDiskSize": 25, "size": 2.4, "dropletId": "0", "createdAt": "2026-11-20T10:00:00Z"}, []
        if args.token == "digitalocean:index/getDatabaseCa:getDatabaseCa":
            cluster_id = args.args.get("clusterId") or args.args.get("cluster_id")
            if not cluster_id:
                raise Exception("Error: cluster_id is required")  # as the provider refuses it
            return {"id": cluster_id, "clusterId": cluster_id, "certificate": MOCK_DATABASE_CA, **self.overrides.get(args.token, {})}, []
        if args.token == "aws:ec2/getAmi:getAmi":
            names = [value for entry in args.args.get("filters") or [] if entry.get("name") == "name" for value in entry.get("values", [])]
            found = [self.snapshots[name] for name in names if name in self.snapshots]
            if not found:
                raise Exception("reading EC2 AMIs: Your query returned no results. Please change your search criteria and try again.")  # the provider's wording
            return {"id": found[0], "imageId": found[0], "name": names[0], "ownerId": aws_mocks.ACCOUNT, "state": "available", "architecture": "x86_64"}, []
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return aws_mocks.availability_zones(self.aws_region), []
        if args.token == "aws:route53/getZone:getZone":
            return aws_mocks.hosted_zone(str(args.args.get("name", ""))), []
        raise NotImplementedError(f"no mock for invoke {args.token}")


# ---------------------------------------------------------------------------
# Recording what the program registers.


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    secret_inputs: set[str]
    options: dict[str, Any]
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    # Outputs the engine would keep secret: the provider's additional secret outputs, secret inputs, and values the mocks returned as secrets.
    secret_outputs: set[str] = field(default_factory=set)

    @property
    def parent_name(self) -> str | None:
        return self.parent.split("::")[-1] if self.parent else None


@dataclass
class StackRun:
    stack: str
    config: dict[str, str]
    resources: list[Resource]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def named(self, name: str) -> Resource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}; names: {sorted(r.name for r in self.resources)}")
        return matches[0]

    def children_of(self, resource: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == resource.urn]


def _plain(value: Any) -> Any:
    """Inputs with secret markers removed (the secretness is recorded separately)."""
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


class ProviderError(grpc.RpcError):
    """An invoke failure as the engine reports it: a gRPC error whose details are the provider's message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self.message


class RecordingMonitor(runtime_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping each registration's options (which MockResourceArgs drops)."""

    mocks: RealisticMocks

    def __init__(self, mocks: RealisticMocks):
        super().__init__(mocks)
        self.records: list[Resource] = []

    def Invoke(self, request):  # noqa: N802 (the gRPC method's name)
        # The real engine turns a provider's invoke error into a gRPC error, which the SDK
        # raises in the program (where the program can catch it), not as an unhandled RPC failure.
        try:
            return super().Invoke(request)
        except Exception as error:
            raise ProviderError(str(error)) from error

    def RegisterResource(self, request):  # noqa: N802 (the gRPC method's name)
        self.mocks.replace_on_changes[(request.type, request.name)] = list(request.replaceOnChanges)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw_inputs = rpc.deserialize_properties(request.object)
        options = {
            "protect": request.protect,
            "delete_before_replace": request.deleteBeforeReplace,
            "replace_on_changes": list(request.replaceOnChanges),
            "ignore_changes": list(request.ignoreChanges),
            "retain_on_delete": request.retainOnDelete,
            "additional_secret_outputs": list(request.additionalSecretOutputs),
            "dependencies": sorted(request.dependencies),
            "custom_timeouts": {k: getattr(request.customTimeouts, k) for k in ("create", "update", "delete") if getattr(request.customTimeouts, k)},
        }
        state = rpc.deserialize_properties(response.object)
        secret_inputs = {k for k, v in raw_inputs.items() if rpc.is_rpc_secret(v)}
        secret_outputs = {k for k, v in state.items() if rpc.is_rpc_secret(v)} | secret_inputs | set(request.additionalSecretOutputs)
        self.records.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=request.custom,
                inputs=_plain(raw_inputs),
                secret_inputs=secret_inputs,
                options=options,
                id=response.id or None,
                outputs=_plain(state),
                secret_outputs={k for k in secret_outputs if k in state},
            )
        )
        return response


def run_program(
    stack: str,
    *,
    config_overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    snapshots: Mapping[str, str] | object | None = _UNSET,
    mock_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    main: Path = MAIN,
) -> StackRun:
    """Run ``__main__.py`` for ``stack`` under mocks; return everything it registered and exported.

    ``snapshots`` maps image names to ids for promote-mode lookups; by default
    the image a promoting stack pins "exists" (as if staging had baked it).
    Pass ``{}`` to model an image that was never baked.
    """
    config, secret_keys = stack_config(stack, config_overrides, secrets=secrets)
    if snapshots is _UNSET:
        snapshots = _pinned_snapshot(config)
    mocks = RealisticMocks(stack, snapshots=snapshots, overrides=mock_outputs, aws_region=config.get("aws:region", "us-east-1"))  # type: ignore[arg-type]
    return run_under_mocks(lambda: runpy.run_path(str(main), run_name="__main__"), stack=stack, mocks=mocks, config=config, secret_keys=secret_keys)


def run_under_mocks(
    body: Callable[[], object],
    *,
    stack: str = "test",
    mocks: RealisticMocks | None = None,
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
) -> StackRun:
    """Run ``body`` (a program, or a test that builds one component) under the mocks and record it.

    Stack outputs are whatever ``body`` exported with ``pulumi.export``.
    """
    mocks = mocks or RealisticMocks(stack)
    monitor = RecordingMonitor(mocks)
    runtime_settings.ROOT.set(None)  # a fresh Stack resource for this run
    pulumi.runtime.set_mocks(mocks, project=project_file()["name"], stack=stack, preview=False, monitor=monitor)
    runtime_config.set_all_config(dict(config or {}), list(secret_keys))

    exported: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    async def collect(outputs: Mapping[str, Any]) -> None:
        for key, value in outputs.items():
            output = pulumi.Output.from_input(value)
            exported[key] = _plain(await output.future())
            if await output.is_secret():
                secret_outputs.add(key)

    @runtime_mocks.test
    def program():
        body()
        root = runtime_settings.get_root_resource()
        return collect(dict(root.outputs))  # type: ignore[union-attr]

    try:
        program()
    except Exception as error:
        # Lets a test prove a bad config stopped the program before any resource was registered.
        error.registered_resources = list(monitor.records)  # type: ignore[attr-defined]
        raise
    # Registration order depends on thread scheduling; URN order does not.
    resources = sorted(monitor.records, key=lambda r: r.urn)
    return StackRun(stack=stack, config=dict(config or {}), resources=resources, outputs=exported, secret_outputs=secret_outputs)


def _pinned_snapshot(config: Mapping[str, str]) -> dict[str, str]:
    """The image a promoting stack's config names, as though the baking stack had made it."""
    from components.common.naming import app_image_name

    namespace = project_file()["name"]
    if config.get(f"{namespace}:imageMode") != "promote":
        return {}
    name = app_image_name(
        config.get(f"{namespace}:appName", "hello"),
        config.get(f"{namespace}:appVersion", ""),
        config.get(f"{namespace}:imageSourceHash", ""),
    )
    if config.get(f"{namespace}:cloud") == "aws":
        return {name: aws_mocks.ami_id(name, config.get("aws:region", "us-east-1"))}
    return {name: _number("snapshot", name)}


def staging_user_data(
    *,
    database_host: str,
    database_port: int,
    database_user: str,
    database_password: str,
    database_ca: str,
    database_name: str | None = None,
    stack: str = "staging",
    config_overrides: Mapping[str, Any] | None = None,
) -> str:
    """The user-data the program renders for the stack's first droplet, with the database where a test puts it.

    Used by the VM boot test: the database outputs point at a real local
    PostgreSQL, and ``database_ca`` (PEM) is the CA that signed its certificate,
    as the cluster's `getDatabaseCa` would return it; everything else is exactly
    what the program would send.
    """
    overrides: dict[str, dict[str, Any]] = {
        # The test's database owner stands in for the cluster's doadmin: the migrations run as it.
        "digitalocean:index/databaseCluster:DatabaseCluster": {"privateHost": database_host, "port": database_port, "user": database_user, "password": database_password},
        "digitalocean:index/databaseUser:DatabaseUser": {"name": database_user, "password": database_password},
        "digitalocean:index/getDatabaseCa:getDatabaseCa": {"certificate": database_ca},
    }
    if database_name is not None:
        overrides["digitalocean:index/databaseDb:DatabaseDb"] = {"name": database_name}
    run = run_program(stack, config_overrides=config_overrides, mock_outputs=overrides)
    droplets = run.of_type("digitalocean:index/droplet:Droplet")
    return droplets[0].inputs["userData"]


def aws_staging_user_data(
    *,
    database_host: str,
    database_port: int,
    database_user: str,
    database_name: str,
    stack: str = "aws-staging",
    config_overrides: Mapping[str, Any] | None = None,
) -> str:
    """The user-data the program puts in the AWS fleet's launch template (decoded), with the database where a test puts it.

    Used by the AWS VM boot test: the RDS instance's outputs point at a real local
    PostgreSQL; everything else is exactly what the program would send, which on AWS
    holds no secret (the SSM parameters' names and versions, the region, the fleet
    generation). What production has and a local boot lacks (AWS's endpoints, RDS's CA)
    is the test's to add, in the open.
    """
    overrides = {"aws:rds/instance:Instance": {"address": database_host, "port": database_port, "username": database_user, "dbName": database_name}}
    run = run_program(stack, config_overrides=config_overrides, mock_outputs=overrides)
    (template,) = run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    return base64.b64decode(template.inputs["userData"]).decode()


__all__: Sequence[str] = ["Resource", "StackRun", "aws_staging_user_data", "list_stacks", "run_program", "run_under_mocks", "stack_config", "staging_user_data"]
