"""Rehearse `pulumi up` on this machine: real VMs, a real load balancer, real traffic, the program's own plan.

    with Rehearsal(stack="staging", images={name: qcow2}, postgres=pg, base_config={...}) as rehearsal:
        rehearsal.deploy("initial", {})                       # the first generation
        result = rehearsal.deploy("version bump", {"appVersion": "1.4.3"}, release=next_checkout)
        result.traffic.failed, result.rollout_seconds, result.schema_revision, ...

WHAT IS REAL. The program (`__main__.py`) runs under the offline harness for the
configuration before and after the change (a `release` is another checkout: its
`__main__.py` runs, so its image name carries that checkout's source hash); `offline.plan.diff_plans` says what
is created, replaced and deleted, and the recorded dependencies say in which
order. Each droplet becomes a QEMU VM of the locally baked image its `image`
names, booted with the user-data the program rendered for it and, as its
instance id, the droplet's id (NoCloud meta-data, as DigitalOcean's metadata
gives the droplet id). The load balancer is HAProxy configured from the
program's LoadBalancer inputs (images/local/haproxy.py). Each health gate is
`tools/health_gate.py` run with the exact command the program renders, its URL
pointed at the local balancer. The database is a real PostgreSQL on 127.0.0.1.

WHAT THE ENGINE DOES, replayed: a changed droplet is created (its VM starts and
joins the pool, entering DOWN, as a droplet carrying the fleet tag) as soon as
everything it depends on is done; a gate runs once its wave's droplets exist;
a failed gate stops the update there (dependents are never created, nothing is
deleted). Replaced and removed droplets are deleted at the end of a successful
update, as the provider deletes with `graceful_shutdown`: ACPI shutdown while
still in the pool, wait for power-off, then out of the pool.

Every wait is bounded; everything listens on 127.0.0.1; VMs use
`-netdev user,restrict=on` with only hostfwd in and a per-connection guestfwd
to the database.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from boot import BootedImage, with_host_names
from haproxy import LocalLoadBalancer
from traffic import LoadGenerator, TrafficReport

from offline.harness import MAIN, PROJECT_DIR, Resource, StackRun, project_file, run_program
from offline.plan import diff_plans
from offline.plan.document import plan_document
from offline.plan.waves import is_gate as plan_is_gate

DROPLET = "digitalocean:index/droplet:Droplet"
COMMAND = "command:local:Command"
LOAD_BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
GUEST_DATABASE_HOST, GUEST_DATABASE_PORT = "10.0.2.100", 5432
POWER_OFF_TIMEOUT_SECONDS = 600  # the droplets' delete timeout (AppFleet's custom_timeouts)
MAX_VM_MEMORY_MB = 2048
READY_ANSWER_TIMEOUT_SECONDS = 300  # a failed canary may still be booting when its gate gives up


def is_gate(resource: Resource) -> bool:
    """A health gate's Command, by the same rule `plan` uses to print the waves."""
    return plan_is_gate({"type": resource.type, "inputs": resource.inputs})


def memory_mb(size_slug: str) -> int:
    """A droplet size's memory for the local VM (s-1vcpu-2gb -> 2048), capped for this machine."""
    match = re.search(r"(\d+)gb", size_slug)
    return min(int(match.group(1)) * 1024 if match else 1024, MAX_VM_MEMORY_MB)


def gate_argv(create: str, balancer_url: str) -> list[str]:
    """The program's gate command with its URL's scheme and host swapped for the local balancer's."""
    words = shlex.split(create)
    url = words[words.index("--url") + 1]
    words[words.index("--url") + 1] = balancer_url + urlsplit(url).path
    return words


@dataclass
class Server:
    """A droplet, on this machine."""

    urn: str
    name: str
    instance_id: str
    vm: BootedImage
    pool_name: str


@dataclass
class ScenarioResult:
    name: str
    traffic: TrafficReport
    rollout_seconds: float
    first_new_up_seconds: float | None
    peak_vms: int
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    never_created: list[str] = field(default_factory=list)
    gates: list[tuple[str, bool, float]] = field(default_factory=list)  # (gate, passed, seconds)
    went_down: list[str] = field(default_factory=list)  # servers of the old fleet that left rotation before their delete
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)  # after a failed gate: what each new server says to /readyz
    schema_revision: str | None = None  # the database's migration stamp afterwards (webapp.alembic_version)
    instances: dict[str, str] = field(default_factory=dict)  # each server created: droplet name -> instance id

    @property
    def succeeded(self) -> bool:
        return all(passed for _, passed, _ in self.gates)


class Rehearsal:
    def __init__(
        self,
        *,
        stack: str,
        images: Mapping[str, Path],
        postgres: Any,
        base_config: Mapping[str, Any],
        rate: float = 25.0,
        guest_forwards: Mapping[str, int] | None = None,
        host_names: Mapping[str, str] | None = None,
    ):
        """``guest_forwards`` (guest address:port -> port here) and ``host_names`` (name -> guest address, written to
        each server's /etc/hosts by boot.with_host_names) reach services beyond the database, e.g. a log receiver."""
        self.stack = stack
        self.guest_forwards = {f"{GUEST_DATABASE_HOST}:{GUEST_DATABASE_PORT}": postgres.port, **(guest_forwards or {})}
        self.host_names = dict(host_names or {})
        self.images = dict(images)  # image name -> qcow2
        self.postgres = postgres
        self.base_config = dict(base_config)
        self.rate = rate
        self.current: StackRun | None = None  # what is deployed
        self.config: dict[str, Any] = dict(base_config)
        self.main = MAIN  # the deployed release's program
        self.servers: dict[str, Server] = {}  # droplet URN -> its running server (the latest good generation)
        self.failed_servers: list[Server] = []  # created by a failed update, left as Pulumi leaves them
        self.balancer: LocalLoadBalancer | None = None
        self.vm_count = 0
        self.peak = 0
        self.serial = 0
        self.delete_started: dict[str, float] = {}  # pool name -> when its ACPI shutdown was sent
        self.gate_output = ""
        self.lock = threading.Lock()

    def __enter__(self) -> Rehearsal:
        return self

    def __exit__(self, *exc) -> None:
        for server in [*self.servers.values(), *self.failed_servers]:
            server.vm.kill()
        if self.balancer is not None:
            self.balancer.__exit__(None, None, None)

    # -- the program --------------------------------------------------------

    def program(self, config: Mapping[str, Any], database_password: str | None = None, main: Path = MAIN) -> StackRun:
        """The program's run for ``config``, its database outputs pointing at the local PostgreSQL."""
        outputs = {
            # The database's owner stands in for the cluster's doadmin (the migrations run as it); a bad
            # canary's wrong password is the serving user's only.
            "digitalocean:index/databaseCluster:DatabaseCluster": {"privateHost": GUEST_DATABASE_HOST, "port": GUEST_DATABASE_PORT, "user": self.postgres.user, "password": self.postgres.password},
            "digitalocean:index/databaseUser:DatabaseUser": {"name": self.postgres.user, "password": database_password or self.postgres.password},
            "digitalocean:index/databaseDb:DatabaseDb": {"name": self.postgres.database},
            # The CA that signed the local server's certificate (which names GUEST_DATABASE_HOST): the app verifies it.
            "digitalocean:index/getDatabaseCa:getDatabaseCa": {"certificate": self.postgres.ca_certificate},
        }
        return run_program(self.stack, config_overrides=config, mock_outputs=outputs, main=main)

    def schema_revision(self) -> str | None:
        """The migration stamp in the database now (None before any server migrated)."""
        exists = self.postgres.sql("SELECT to_regclass('webapp.alembic_version')", database=self.postgres.database).strip()
        if not exists:
            return None
        return self.postgres.sql("SELECT version_num FROM webapp.alembic_version", database=self.postgres.database).strip() or None

    # -- one change ---------------------------------------------------------

    def deploy(self, name: str, changes: Mapping[str, Any], *, database_password: str | None = None, release: Path | None = None) -> ScenarioResult:
        """Apply ``changes`` to the deployed configuration as `pulumi up` would, under steady traffic.

        ``release``: the checkout to deploy from now on (its images must be baked); by default the deployed one.
        """
        config = {**self.config, **changes}
        main = release / "__main__.py" if release is not None else self.main
        after = self.program(config, database_password, main)
        if self.balancer is None:
            (lb,) = after.of_type(LOAD_BALANCER)
            self.balancer = LocalLoadBalancer.from_inputs(lb.inputs).__enter__()
        steps = self._steps(after)
        with LoadGenerator(self.balancer.url + "/", rate=self.rate) as load, Watcher(self.balancer) as watcher:
            started = time.monotonic()
            result = self._apply(name, after, steps, watcher, started)
            result.traffic = load.stop()
        result.schema_revision = self.schema_revision()
        if result.succeeded:
            self.current, self.config, self.main = after, config, main
        return result

    def observe(self, name: str, action: Callable[[], None], *, settle_seconds: float = 15.0) -> ScenarioResult:
        """No change to the program: run ``action`` (e.g. restart the database) under traffic, then watch a while."""
        assert self.balancer is not None, "deploy a first generation before observing it"
        serving = [*self.servers.values()]
        with LoadGenerator(self.balancer.url + "/", rate=self.rate) as load, Watcher(self.balancer) as watcher:
            started = time.monotonic()
            action()
            time.sleep(settle_seconds)
            result = ScenarioResult(name, TrafficReport(), 0.0, None, self.vm_count)
            self._finish(result, watcher, started, {}, serving)
            result.traffic = load.stop()
        result.schema_revision = self.schema_revision()
        return result

    def _steps(self, after: StackRun) -> dict[str, list[str]]:
        """What the plan diff says: droplets to create, gates to run, droplets to delete."""
        # Unmasked: a changed secret (a rotated password) changes user-data, and so replaces droplets.
        project = project_file()
        before_document = plan_document(self.current, project, mask=False) if self.current is not None else {"resources": []}
        changes = diff_plans(before_document, plan_document(after, project, mask=False))
        by_urn = {resource.urn: resource for resource in after.resources}
        steps: dict[str, list[str]] = {"create": [], "gate": [], "delete": []}
        for change in changes:
            resource = by_urn.get(change.urn)
            if change.type == DROPLET:
                if change.action in ("create", "replace"):
                    steps["create"].append(change.urn)
                if change.action in ("replace", "delete"):
                    steps["delete"].append(change.urn)
            elif resource is not None and is_gate(resource):
                steps["gate"].append(change.urn)
            elif self.current is not None and change.type != COMMAND:
                # Only the fleet is rehearsed; a change elsewhere (a database, the balancer) is not modelled.
                raise NotImplementedError(f"the rehearsal does not model a change to {change.name} ({change.type}): {change.reason}")
        return steps

    def _apply(self, name: str, after: StackRun, steps: dict[str, list[str]], watcher: Watcher, started: float) -> ScenarioResult:
        by_urn = {resource.urn: resource for resource in after.resources}
        result = ScenarioResult(name, TrafficReport(), 0.0, None, self.vm_count)
        self.peak = self.vm_count
        serving = [*self.servers.values()]
        pending = [*steps["create"], *steps["gate"]]
        done: set[str] = set()
        new: dict[str, Server] = {}
        while pending:
            ready = [urn for urn in pending if all(dep in done or dep not in pending for dep in by_urn[urn].options["dependencies"])]
            if not ready:
                raise RuntimeError(f"no step can run: {pending}")
            droplets = [urn for urn in ready if urn in steps["create"]]
            if droplets:
                for urn in droplets:
                    new[urn] = self._create(by_urn[urn], after)
                    result.created.append(by_urn[urn].name)
                    result.instances[by_urn[urn].name] = new[urn].instance_id
                done.update(droplets)
                pending = [urn for urn in pending if urn not in droplets]
                continue
            gate = ready[0]
            passed, seconds = self._gate(by_urn[gate])
            result.gates.append((by_urn[gate].name, passed, seconds))
            pending.remove(gate)
            if not passed:
                result.never_created = [by_urn[urn].name for urn in pending if urn in steps["create"]]
                self.failed_servers += new.values()
                # Ask the failed servers directly: booted and refusing readiness, or never up at all?
                for server in new.values():
                    answer, _ = server.vm.wait_for_http("/readyz", READY_ANSWER_TIMEOUT_SECONDS)
                    result.refused[server.name] = (answer[0], str(answer[1].get("status"))) if answer else (0, "no answer")
                return self._finish(result, watcher, started, new, serving)
            done.add(gate)
        # The update succeeded: the engine deletes the replaced and removed droplets, in parallel.
        old = [self.servers[urn] for urn in steps["delete"] if urn in self.servers]
        with ThreadPoolExecutor(max_workers=max(len(old), 1)) as pool:
            list(pool.map(self._delete, old))
        result.deleted = [server.name for server in old]
        for urn in steps["delete"]:
            self.servers.pop(urn, None)
        self.servers.update(new)
        return self._finish(result, watcher, started, new, serving)

    def _finish(self, result: ScenarioResult, watcher: Watcher, started: float, new: dict[str, Server], serving: list[Server]) -> ScenarioResult:
        result.rollout_seconds = time.monotonic() - started
        result.first_new_up_seconds = watcher.first_up({server.pool_name for server in new.values()}, started)
        result.peak_vms = self.peak
        # A server that was serving must not leave rotation before its own delete began (or at all, if kept).
        result.went_down = [server.name for server in serving if watcher.went_down_before(server.pool_name, self.delete_started.get(server.pool_name))]
        return result

    def _create(self, droplet: Resource, after: StackRun) -> Server:
        image_name = str(after.outputs["imageName"])
        if droplet.inputs["image"] != str(after.outputs["imageId"]) or image_name not in self.images:
            raise LookupError(f"{droplet.name}: no local image for image id {droplet.inputs['image']} ({image_name}); baked: {sorted(self.images)}")
        with self.lock:
            self.vm_count += 1
            self.peak = max(self.peak, self.vm_count)
            self.serial += 1
            serial = self.serial
        user_data = droplet.inputs["userData"]
        vm = BootedImage(
            self.images[image_name],
            with_host_names(user_data, self.host_names) if self.host_names else user_data,
            hostname=droplet.inputs["name"],
            instance_id=str(droplet.id),
            guest_forwards=self.guest_forwards,
            memory_mb=memory_mb(droplet.inputs["size"]),
            cpus=1,
        ).__enter__()
        pool_name = f"{droplet.name}-{droplet.id}-{serial}"
        assert self.balancer is not None
        self.balancer.add(pool_name, "127.0.0.1", vm.http_port)
        return Server(droplet.urn, droplet.inputs["name"], str(droplet.id), vm, pool_name)

    def _gate(self, command: Resource) -> tuple[bool, float]:
        assert self.balancer is not None
        argv = gate_argv(command.inputs["create"], self.balancer.url)
        timeout = float(argv[argv.index("--timeout") + 1])
        start = time.monotonic()
        finished = subprocess.run(argv, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=timeout + 120)
        self.gate_output = finished.stderr + finished.stdout
        return finished.returncode == 0, time.monotonic() - start

    def _delete(self, server: Server) -> None:
        """As the provider deletes with graceful_shutdown: ACPI shutdown in the pool, wait for power-off, leave the pool."""
        assert self.balancer is not None
        self.delete_started[server.pool_name] = time.monotonic()
        server.vm.shutdown()
        if not server.vm.wait_for_power_off(POWER_OFF_TIMEOUT_SECONDS):
            raise TimeoutError(f"{server.name} did not power off within {POWER_OFF_TIMEOUT_SECONDS}s of an ACPI shutdown")
        self.balancer.remove(server.pool_name)
        server.vm.kill()
        with self.lock:
            self.vm_count -= 1


class Watcher:
    """Polls the balancer's view of every server; remembers when each first went UP and every DOWN."""

    def __init__(self, balancer: LocalLoadBalancer, interval: float = 0.5):
        self.balancer = balancer
        self.interval = interval
        self.history: dict[str, list[tuple[float, str]]] = {}
        self.stopping = threading.Event()

    def __enter__(self) -> Watcher:
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def _watch(self) -> None:
        while not self.stopping.wait(self.interval):
            now = time.monotonic()
            try:
                states = self.balancer.states()
            except OSError:
                continue
            for name, state in states.items():
                seen = self.history.setdefault(name, [])
                if not seen or seen[-1][1] != state:
                    seen.append((now, state))

    def first_up(self, names: set[str], since: float) -> float | None:
        times = [at - since for name in names for at, state in self.history.get(name, []) if state == "UP"]
        return min(times) if times else None

    def went_down_before(self, name: str, moment: float | None) -> bool:
        return any(state == "DOWN" and (moment is None or at < moment) for at, state in self.history.get(name, []))
