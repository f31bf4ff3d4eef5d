"""The health gate's target and command line: where it checks, and how it is run.

Pure. ``HealthGate`` (components/health_gate.py) runs ``gate_command`` as a
pulumi-command Command; the deployment builds the URL it checks with
``app_url`` and ``gate_url``: the deep health path (``HEALTH_PATH``), through the
load balancer, as a user would reach it.
"""

from __future__ import annotations

import shlex

from components.common.serving import HEALTH_PATH


def app_url(*, tls_name: str | None = None, ip: str | None = None) -> str:
    """How users reach the app: https on its name when the load balancer serves TLS, else http on the balancer's IP."""
    if tls_name:
        return f"https://{tls_name}"
    if ip:
        return f"http://{ip}"
    raise ValueError("an app URL needs a TLS name or the load balancer's IP")


def gate_url(base_url: str) -> str:
    """The deep health endpoint (database, version, instance id) under the app's URL."""
    return base_url + HEALTH_PATH


def gate_resolve(tls_name: str, ip: str) -> str:
    """HOST:IP for the gate: reach the balancer by name before the name's DNS points at it."""
    return f"{tls_name}:{ip}"


REQUEST_TIMEOUT_SECONDS = 10


def gate_command(python: str, url: str, version: str, instance_ids: list[str] | None, timeout: int, resolve: str | None, *, generation: str | None = None, count: int = 0) -> str:
    """The gate's command line: it waits for these instance ids (DigitalOcean) or for `count` instances of `generation` (AWS)."""
    if (instance_ids is None) == (generation is None):
        raise ValueError("the gate waits for instance ids or for a generation, exactly one")
    expect = ["--expect-instances", ",".join(instance_ids)] if instance_ids is not None else ["--expect-generation", str(generation), "--expect-count", str(count)]
    words = [
        python,
        "tools/health_gate.py",
        "--url",
        url,
        "--expect-version",
        version,
        *expect,
        "--timeout",
        str(timeout),
        # Each answer opens a database connection (TLS, SCRAM): allow a slow one on a busy server,
        # rather than count it as an error that restarts nothing but delays the gate.
        "--request-timeout",
        str(REQUEST_TIMEOUT_SECONDS),
    ]
    if resolve:
        words += ["--resolve", resolve]
    return " ".join(shlex.quote(word) for word in words)
