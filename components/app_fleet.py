"""AppFleet: N identical droplets from one image, replaced whole on every change.

Creates the droplets (from the image id, in the VPC, with the fleet tag and
cloud-init user-data that writes the app's environment file) and a firewall
on the fleet tag: the app port open only to the load balancer, SSH closed
unless allow-listed, egress open.

A droplet is never changed in place. A new image id or new user-data replaces
it (`replace_on_changes`), and the replacement is created before the old one
is deleted, so the load balancer always has a healthy generation to send
traffic to. Droplet names carry the image generation (version + content
hash), so two generations can coexist, and the health gate can tell them
apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_digitalocean as digitalocean

from components.cloud_init import app_environment, render_user_data
from components.naming import droplet_hostname


@dataclass(frozen=True, kw_only=True)
class DatabaseConnection:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    name: pulumi.Input[str]
    user: pulumi.Input[str]
    password: pulumi.Input[str]


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
    env: dict[str, str] = field(default_factory=dict)
    tags: Sequence[str] = ()
    ssh_keys: Sequence[str] = ()
    ssh_allow_cidrs: Sequence[str] = ()


# Engine property names (as in the provider schema) whose change must replace a droplet.
REPLACE_ON_CHANGES = ["image", "userData"]


class AppFleet(pulumi.ComponentResource):
    droplet_ids: pulumi.Output[list[str]]
    droplet_names: pulumi.Output[list[str]]
    user_data: pulumi.Output[str]
    droplets: list[digitalocean.Droplet]

    def __init__(self, name: str, args: AppFleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:fleet:AppFleet", name, None, opts)

        database = args.database
        self.user_data = pulumi.Output.secret(
            pulumi.Output.all(database.host, database.port, database.name, database.user, database.password, args.app_secret).apply(
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
                        extra_env=args.env,
                    )
                )
            )
        )

        self.droplets = []
        for index in range(args.count):
            self.droplets.append(
                digitalocean.Droplet(
                    f"{name}-{index}",
                    name=droplet_hostname(args.app_name, args.stack, args.app_version, args.source_hash, index),
                    image=args.image_id,
                    region=args.region,
                    size=args.size,
                    vpc_uuid=args.vpc_id,
                    user_data=self.user_data,
                    tags=[args.fleet_tag, *args.tags],
                    ssh_keys=list(args.ssh_keys),
                    monitoring=True,
                    # Let the app finish in-flight requests (SIGTERM) when a droplet is shut down.
                    graceful_shutdown=True,
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        # Never patch a server: a new image or new first-boot config is a new droplet.
                        replace_on_changes=REPLACE_ON_CHANGES,
                        # Create the replacement first, delete the old droplet last: no gap in capacity.
                        delete_before_replace=False,
                        # A droplet from a large snapshot can take minutes to boot.
                        custom_timeouts=pulumi.CustomTimeouts(create="15m", delete="10m"),
                        # user-data carries the database password: keep it encrypted in state.
                        additional_secret_outputs=["userData"],
                    ),
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
        self.register_outputs({"droplet_ids": self.droplet_ids, "droplet_names": self.droplet_names})
