"""AppFleet: N identical droplets from one image, replaced whole on every change, wave by wave, each wave gated.

Creates the droplets (from the image id, in the VPC, with the fleet tag and
cloud-init user-data that writes the app's environment file and the
database's CA certificate), one HealthGate
per rollout wave, and a firewall on the fleet tag: the app port open only to
the load balancer, SSH closed unless allow-listed, egress open.

A droplet is never changed in place: any change to it replaces it
(`replace_on_changes=["*"]`), and the replacement is created before the old one
is deleted, so the load balancer always has a healthy generation to send
traffic to. Waves (see ``components.common.rollout``): a wave's droplets are created
only after the previous wave's gate passed; each gate waits for its wave's
droplet ids, which no old droplet can answer with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_digitalocean as digitalocean

from components.common.cloud_init import app_environment, migration_environment, render_user_data
from components.common.log_shipping import LogDestination
from components.common.naming import droplet_hostname
from components.common.rollout import RolloutStrategy, rollout_waves
from components.health_gate import GateSettings, HealthGate, HealthGateArgs


@dataclass(frozen=True, kw_only=True)
class DatabaseConnection:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    name: pulumi.Input[str]
    user: pulumi.Input[str]
    password: pulumi.Input[str]
    ca_certificate: pulumi.Input[str]
    """PEM of the CA that signed the database's certificate: the app verifies the server and its host name against it."""
    migration_user: pulumi.Input[str]
    migration_password: pulumi.Input[str]
    """The role that owns the app's schema and runs its migrations (the cluster's admin): in a file only webapp-migrate.service reads."""


@dataclass(frozen=True, kw_only=True)
class AppFleetArgs:
    app_name: str
    stack: str
    app_version: str
    source_hash: str
    """Content hash of the image; with the version it names the droplets' generation."""
    image_id: pulumi.Input[str]
    count: int
    size: str
    region: str
    vpc_id: pulumi.Input[str]
    fleet_tag: pulumi.Input[str]
    load_balancer_id: pulumi.Input[str]
    app_port: int
    database: DatabaseConnection
    app_secret: pulumi.Input[str]
    drain_seconds: int
    """How long a stopping droplet keeps serving (components.common.serving.drain_seconds)."""
    gate: GateSettings
    rollout: RolloutStrategy = RolloutStrategy.ALL_AT_ONCE
    batch_size: int = 1
    env: dict[str, str] = field(default_factory=dict)
    tags: Sequence[str] = ()
    ssh_keys: Sequence[str] = ()
    ssh_allow_cidrs: Sequence[str] = ()
    app_secret_previous: pulumi.Input[str] | None = None
    """The secret app_secret replaced (a rotation's grace period): in user-data as APP_SECRET_PREVIOUS when set."""
    log_destination: LogDestination | None = None
    """Where the droplets ship their logs; None: logs stay on each droplet."""


# Any change to a droplet replaces it. The provider would update some fields in place, each
# touching a serving droplet (terraform-provider-digitalocean, resource_droplet.go, Update):
# `size` powers it off, resizes and powers it on (all droplets at once: an outage, and a disk
# resize cannot be undone); `name` renames it; `tags` moves it in or out of the load balancer
# and firewall; `backups`, `ipv6`, `privateNetworking`, `volumeIds` change it under the app.
# None of those reach the health gate. A new droplet with the new value does.
REPLACE_ON_CHANGES = ["*"]


class AppFleet(pulumi.ComponentResource):
    droplet_ids: pulumi.Output[list[str]]
    droplet_names: pulumi.Output[list[str]]
    user_data: pulumi.Output[str]
    droplets: list[digitalocean.Droplet]
    gates: list[HealthGate]
    gate_reports: pulumi.Output[list[str]]

    def __init__(self, name: str, args: AppFleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:fleet:AppFleet", name, None, opts)

        database = args.database
        self.user_data = pulumi.Output.secret(
            pulumi.Output.all(
                database.host,
                database.port,
                database.name,
                database.user,
                database.password,
                args.app_secret,
                database.ca_certificate,
                database.migration_user,
                database.migration_password,
                args.app_secret_previous,
            ).apply(
                lambda values: render_user_data(
                    app_environment(
                        app_env=args.stack,
                        app_port=args.app_port,
                        database_host=values[0],
                        database_port=int(values[1]),
                        database_name=values[2],
                        database_user=values[3],
                        database_password=values[4],
                        app_secret=values[5],
                        drain_seconds=args.drain_seconds,
                        extra_env=args.env,
                        app_secret_previous=values[9],
                    ),
                    database_ca=values[6],
                    log_destination=args.log_destination,
                    # A file of its own, which only the one-shot migration unit reads: never the app's.
                    migration_env=migration_environment(user=values[7], password=values[8]),
                )
            )
        )

        self.droplets = []
        self.gates = []
        for wave, indexes in enumerate(rollout_waves(args.count, args.rollout, args.batch_size)):
            # The previous wave's gate must pass before this wave is created (a failed canary stops here).
            after = [self.gates[-1].command] if self.gates else []
            wave_droplets = [self._droplet(name, args, index, after) for index in indexes]
            self.droplets += wave_droplets
            self.gates.append(
                HealthGate(
                    f"{name}-gate-{wave}",
                    HealthGateArgs(
                        url=args.gate.url,
                        expect_version=args.app_version,
                        instance_ids=pulumi.Output.all(*[droplet.id for droplet in wave_droplets]),
                        timeout_seconds=args.gate.timeout_seconds,
                        resolve=args.gate.resolve,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )

        inbound = [
            # Only the load balancer (its traffic and its health checks) reaches the app.
            digitalocean.FirewallInboundRuleArgs(protocol="tcp", port_range=str(args.app_port), source_load_balancer_uids=[args.load_balancer_id]),
        ]
        if args.ssh_allow_cidrs:
            inbound.append(digitalocean.FirewallInboundRuleArgs(protocol="tcp", port_range="22", source_addresses=list(args.ssh_allow_cidrs)))
        anywhere = ["0.0.0.0/0", "::/0"]
        digitalocean.Firewall(
            f"{name}-firewall",
            tags=[args.fleet_tag],
            inbound_rules=inbound,
            outbound_rules=[
                digitalocean.FirewallOutboundRuleArgs(protocol="tcp", port_range="1-65535", destination_addresses=anywhere),
                digitalocean.FirewallOutboundRuleArgs(protocol="udp", port_range="1-65535", destination_addresses=anywhere),
                digitalocean.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=anywhere),
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.droplet_ids = pulumi.Output.all(*[droplet.id for droplet in self.droplets])
        self.droplet_names = pulumi.Output.all(*[droplet.name for droplet in self.droplets])
        self.gate_reports = pulumi.Output.all(*[gate.report for gate in self.gates])
        self.register_outputs({"droplet_ids": self.droplet_ids, "droplet_names": self.droplet_names, "gate_reports": self.gate_reports})

    def _droplet(self, name: str, args: AppFleetArgs, index: int, after: Sequence[pulumi.Resource]) -> digitalocean.Droplet:
        return digitalocean.Droplet(
            f"{name}-{index}",
            name=droplet_hostname(args.app_name, args.stack, args.app_version, args.source_hash, index),
            image=args.image_id,
            region=args.region,
            size=args.size,
            vpc_uuid=args.vpc_id,
            user_data=self.user_data,
            tags=[args.fleet_tag, *args.tags],
            ssh_keys=list(args.ssh_keys),
            # DigitalOcean's monitoring agent is installed from the network at first boot: an
            # immutable server downloads nothing after it is built.
            monitoring=False,
            # Delete = ACPI shutdown, wait for power-off, then delete: the app gets SIGTERM and
            # drains (keeps serving while the load balancer notices it is going).
            graceful_shutdown=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=after,
                # Never patch a server: any change is a new droplet (see REPLACE_ON_CHANGES).
                replace_on_changes=REPLACE_ON_CHANGES,
                # Create the replacement first, delete the old droplet last: no gap in capacity.
                delete_before_replace=False,
                # A droplet from a large snapshot can take minutes to boot; a delete includes the drain.
                custom_timeouts=pulumi.CustomTimeouts(create="15m", delete="10m"),
                # user-data carries the database password and the app's secrets: keep it encrypted in state.
                additional_secret_outputs=["userData"],
            ),
        )
