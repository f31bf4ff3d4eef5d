"""What the program registers, as the engine would record it: type, name, parent, inputs (and which are secret), options, outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import rpc

from offline.mocks import RealisticMocks


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
    # Which resources each input's value came from (the engine keeps these in the state; the policy pack reads them).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    # A component's `register_outputs` (the engine's outputs of a component; custom resources leave it empty).
    registered_outputs: dict[str, Any] = field(default_factory=dict)

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


def plain(value: Any) -> Any:
    """Inputs with secret markers removed (the secretness is recorded separately)."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
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
                inputs=plain(raw_inputs),
                secret_inputs=secret_inputs,
                options=options,
                id=response.id or None,
                outputs=plain(state),
                secret_outputs={k for k in secret_outputs if k in state},
                property_dependencies={key: sorted(value.urns) for key, value in request.propertyDependencies.items()},
            )
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802 (the gRPC method's name)
        outputs = plain(rpc.deserialize_properties(request.outputs))
        for record in self.records:
            if record.urn == request.urn:
                record.registered_outputs = outputs
        return super().RegisterResourceOutputs(request)
