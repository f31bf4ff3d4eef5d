"""HealthGate built with explicit args: the command it runs and what re-runs it."""

from __future__ import annotations

import shlex

from components.common.gate import gate_command
from components.health_gate import HealthGate, HealthGateArgs
from offline.harness import run_under_mocks


def test_gate_command_is_quoted_and_bounded():
    words = shlex.split(gate_command("python3", "https://a.example/healthz", "1.0.0", ["411", "412"], 300, "a.example:198.51.100.1"))
    assert words == [
        "python3", "tools/health_gate.py", "--url", "https://a.example/healthz", "--expect-version", "1.0.0",
        "--expect-instances", "411,412", "--timeout", "300", "--request-timeout", "10", "--resolve", "a.example:198.51.100.1",
    ]  # fmt: skip


def test_new_droplet_ids_rerun_the_gate_and_are_what_it_waits_for():
    run = run_under_mocks(lambda: HealthGate("gate", HealthGateArgs(url="http://198.51.100.1/healthz", expect_version="1.0.0", instance_ids=["11", "12"], timeout_seconds=120)))
    (command,) = run.of_type("command:local:Command")
    assert command.inputs["triggers"] == [["11", "12"]]
    assert "--expect-instances 11,12 " in command.inputs["create"]
    # The Command's own timeout backs up the gate's --timeout, never cuts it short.
    assert command.options["custom_timeouts"]["create"] == "240s"
