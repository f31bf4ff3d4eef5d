"""Database built with explicit args."""

from __future__ import annotations

import pulumi
import pytest
from conftest import DB_CLUSTER, DB_FIREWALL

from components.digitalocean.database import Database, DatabaseArgs
from offline.harness import MOCK_DATABASE_CA, run_under_mocks


def build(protect: bool):
    def body():
        database = Database(
            "db",
            DatabaseArgs(
                region="ams3",
                vpc_id="vpc-9",
                fleet_tag="t-fleet",
                version="15",
                size="db-s-2vcpu-4gb",
                node_count=3,
                database_name="shop",
                user_name="shop",
                protect=protect,
                tags=["app:shop"],
            ),
        )
        pulumi.export("password", database.password)
        pulumi.export("host", database.host)
        pulumi.export("ca", database.ca_certificate)

    return run_under_mocks(body)


@pytest.mark.parametrize("protect", [True, False])
def test_cluster_in_the_vpc_with_protection_as_asked(protect):
    run = build(protect)
    cluster = run.of_type(DB_CLUSTER)[0]
    assert cluster.inputs["privateNetworkUuid"] == "vpc-9" and cluster.inputs["nodeCount"] == 3 and cluster.inputs["version"] == "15"
    assert cluster.options["protect"] is protect
    assert run.of_type(DB_FIREWALL)[0].inputs["rules"] == [{"type": "tag", "value": "t-fleet"}]


def test_password_stays_secret_and_host_is_the_private_one():
    run = build(True)
    assert "password" in run.secret_outputs
    assert run.outputs["host"].startswith("private-")


def test_ca_certificate_is_the_clusters_own_and_public():
    """What the provider's getDatabaseCa returns for this cluster (the mock answers with a real PEM)."""
    run = build(True)
    assert run.outputs["ca"] == MOCK_DATABASE_CA
    assert "ca" not in run.secret_outputs, "a CA certificate is public: it need not hide in state"
