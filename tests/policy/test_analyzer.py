"""The pack as the Pulumi CLI talks to it: `policy/__main__.py` started as a process, asked over its gRPC Analyzer service.

The CLI cannot start a Python pack here (no Python language host, docs/engine.md), so
the test starts it the way the host does (`python __main__.py` in `policy/`, with the
project's environment), reads the port it prints, and sends what the engine would:
`GetAnalyzerInfo`, `Analyze` for one resource (its inputs and options) and
`AnalyzeStack` for a whole stack (every resource's outputs, options, parent and
property dependencies), from the resources the offline harness records.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline.harness import Resource, run_program
from policy.pack import POLICIES

PACK = Path(__file__).resolve().parents[2] / "policy"
MANDATORY = 1  # pulumirpc.EnforcementLevel


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    pack = subprocess.Popen([sys.executable, "__main__.py"], cwd=PACK, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert pack.stdout is not None
        port = int(pack.stdout.readline().decode().strip() or 0)
        assert port, pack.stderr.read().decode() if pack.stderr else "no port"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        pack.terminate()
        pack.wait(timeout=30)


def struct(values: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def options(resource: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    opts = resource.options
    return analyzer_pb2.AnalyzerResourceOptions(protect=opts["protect"], ignoreChanges=opts["ignore_changes"], additionalSecretOutputs=opts["additional_secret_outputs"], parent=resource.parent or "")


def stack_request(resources: list[Resource]) -> analyzer_pb2.AnalyzeStackRequest:
    return analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=struct(r.outputs if r.custom else r.registered_outputs),
                urn=r.urn,
                name=r.name,
                options=options(r),
                parent=r.parent or "",
                dependencies=r.options["dependencies"],
                propertyDependencies={key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns) for key, urns in r.property_dependencies.items()},
            )
            for r in resources
        ]
    )


def test_the_pack_announces_every_policy_with_its_level(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "immutable-web"
    announced = {policy.name: policy.enforcementLevel for policy in info.policies}
    assert announced == {policy.name: (MANDATORY if policy.enforcement_level.value == "mandatory" else 0) for policy in POLICIES}


@pytest.mark.parametrize("stack", ["staging", "prod", "aws-staging", "aws-prod"])
def test_a_committed_stack_gets_no_diagnostic(analyzer, stack):
    resources = run_program(stack).resources
    assert list(analyzer.AnalyzeStack(stack_request(resources)).diagnostics) == []
    for r in resources:
        if r.custom:
            request = analyzer_pb2.AnalyzeRequest(type=r.type, properties=struct(r.inputs), urn=r.urn, name=r.name, options=options(r))
            assert list(analyzer.Analyze(request).diagnostics) == [], r.name


def test_a_database_open_to_an_address_is_a_mandatory_violation_named_by_its_rule(analyzer):
    resources = copy.deepcopy(run_program("staging").resources)
    (firewall,) = [r for r in resources if r.name == "database-firewall"]
    firewall.outputs["rules"] = [*firewall.outputs["rules"], {"type": "ip_addr", "value": "203.0.113.7"}]
    (diagnostic,) = analyzer.AnalyzeStack(stack_request(resources)).diagnostics
    assert (diagnostic.policyName, diagnostic.enforcementLevel) == ("database-only-from-fleet", MANDATORY)
    assert "database-firewall" in diagnostic.message and "203.0.113.7" in diagnostic.message


def test_a_droplet_whose_user_data_is_not_secret_is_a_mandatory_violation_named_by_its_rule(analyzer):
    (droplet, *_) = [r for r in run_program("staging").resources if r.type.endswith("Droplet")]
    request = analyzer_pb2.AnalyzeRequest(
        type=droplet.type, properties=struct(droplet.inputs), urn=droplet.urn, name=droplet.name, options=analyzer_pb2.AnalyzerResourceOptions(additionalSecretOutputs=[])
    )
    (diagnostic,) = analyzer.Analyze(request).diagnostics
    # The engine attaches the analyzed resource's URN to a resource policy's diagnostic; the message names it too.
    assert (diagnostic.policyName, diagnostic.enforcementLevel) == ("user-data-secret", MANDATORY) and droplet.name in diagnostic.message
