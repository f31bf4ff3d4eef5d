"""Database: the managed PostgreSQL cluster that holds the app's state, outside the fleet.

Creates a DigitalOcean PostgreSQL cluster in the VPC, a database and a user for
the app, and a database firewall that trusts only droplets with the fleet tag;
reads the cluster's CA certificate (the provider's `getDatabaseCa` data source),
which the fleet verifies the server against.
Droplets come and go with every image; the cluster does not, so it can be
protected from deletion and replacement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    region: str
    vpc_id: pulumi.Input[str]
    fleet_tag: pulumi.Input[str]
    """Only droplets with this tag may connect."""
    version: str
    """PostgreSQL major version, e.g. 16."""
    size: str
    node_count: int
    """1 for a single node, 2-3 for a standby (HA) that takes over on failure."""
    database_name: str
    user_name: str
    protect: bool
    """Refuse to delete or replace the cluster (and the data in it)."""
    tags: Sequence[str]


class Database(pulumi.ComponentResource):
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    user_name: pulumi.Output[str]
    password: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    ca_certificate: pulumi.Output[str]
    """PEM: the CA that signed the cluster's server certificate (public, not a secret)."""
    migration_user: pulumi.Output[str]
    migration_password: pulumi.Output[str]
    """The cluster's admin (``doadmin``), which owns the database: the app's migrations run as it.

    DigitalOcean's API makes users but grants them nothing, and on PostgreSQL 15+ the app's user may
    not CREATE in a database it does not own; only the admin can create the app's schema."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:db:Database", name, None, opts)

        cluster = digitalocean.DatabaseCluster(
            f"{name}-cluster",
            engine="pg",
            version=args.version,
            size=args.size,
            node_count=args.node_count,
            region=args.region,
            private_network_uuid=args.vpc_id,
            tags=list(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                # The data outlives every fleet: with protect, `pulumi up` refuses a plan that would
                # delete or replace the cluster (e.g. a region change) and `pulumi destroy` stops here.
                protect=args.protect,
                # Provisioning a cluster (more so with standby nodes) takes longer than the default.
                custom_timeouts=pulumi.CustomTimeouts(create="60m", update="60m"),
            ),
        )
        child = pulumi.ResourceOptions(parent=self)
        database = digitalocean.DatabaseDb(f"{name}-db", cluster_id=cluster.id, name=args.database_name, opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        user = digitalocean.DatabaseUser(f"{name}-user", cluster_id=cluster.id, name=args.user_name, opts=child)
        digitalocean.DatabaseFirewall(
            f"{name}-firewall",
            cluster_id=cluster.id,
            rules=[digitalocean.DatabaseFirewallRuleArgs(type="tag", value=args.fleet_tag)],
            opts=child,
        )

        # Droplets reach the cluster over the VPC, never the public endpoint.
        self.host = cluster.private_host
        self.port = cluster.port
        self.database_name = database.name
        self.user_name = user.name
        self.password = pulumi.Output.secret(user.password)
        self.cluster_id = cluster.id
        self.ca_certificate = digitalocean.get_database_ca_output(cluster_id=cluster.id, opts=pulumi.InvokeOutputOptions(parent=self)).certificate
        self.migration_user = cluster.user
        self.migration_password = pulumi.Output.secret(cluster.password)
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "database_name": self.database_name,
                "user_name": self.user_name,
                "password": self.password,
                "ca_certificate": self.ca_certificate,
                "migration_user": self.migration_user,
                "migration_password": self.migration_password,
            }
        )
