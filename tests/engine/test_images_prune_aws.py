"""`images prune` on AWS against moto: AMIs go with their EBS snapshots, and the one aws-prod's state runs stays.

moto (server mode, tests/aws_stand_ins.py) stands in for EC2; the stacks' states are made by the real CLI.
"""

from __future__ import annotations

import subprocess
import sys
import time

import boto3
import pytest
from aws_stand_ins import MotoServer
from conftest import ROOT
from pulumi_state import child, import_state, stack_resource

REGION = "us-east-1"
PROD_ONLY = "hello-aws-staging-1.3.9-0123456789ab"
# Oldest first.
AMIS = [PROD_ONLY, "hello-aws-staging-1.4.0-bbbbbbbbbbbb", "hello-aws-staging-1.4.1-cccccccccccc", "hello-aws-staging-1.4.3-eeeeeeeeeeee"]
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


@pytest.fixture
def ec2(workspace):
    with MotoServer() as moto:
        client = boto3.client("ec2", region_name=REGION, endpoint_url=moto.url, aws_access_key_id="testing", aws_secret_access_key="testing")
        amis = {}
        for name in AMIS:
            # moto gives every registered AMI a root device of its own: a 15 GB EBS snapshot.
            image_id = client.register_image(Name=name, RootDeviceName="/dev/sda1")["ImageId"]
            (mapping,) = client.describe_images(ImageIds=[image_id])["Images"][0]["BlockDeviceMappings"]
            amis[name] = (image_id, mapping["Ebs"]["SnapshotId"])
            time.sleep(1.1)  # EC2 dates an AMI to the second: one second apart, the order is the creation order
        for stack in ("aws-staging", "aws-prod"):
            workspace.init(stack)
        newest = AMIS[-1]
        import_state(workspace, "aws-staging", [stack_resource("aws-staging", {"imageName": newest, "imageId": amis[newest][0]})])
        import_state(
            workspace,
            "aws-prod",
            [
                stack_resource("aws-prod", {"imageName": PROD_ONLY}),
                child("aws-prod", LAUNCH_TEMPLATE, "fleet-template", custom=True, resource_id="lt-0123", inputs={"imageId": amis[PROD_ONLY][0]}, outputs={"imageId": amis[PROD_ONLY][0]}),
            ],
        )
        yield client, moto, amis


def test_prune_deregisters_amis_with_their_snapshots_and_keeps_the_one_prod_runs(workspace, ec2):
    client, moto, amis = ec2
    env = workspace.env | CREDENTIALS | {"AWS_ENDPOINT_URL": moto.url}
    command = [sys.executable, "-m", "tools.images", "prune", "--project-dir", str(workspace.path), "--stack", "aws-staging", "--keep", "1"]
    dry = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    # 15 GB snapshots at EBS's $0.05 a GB-month.
    assert "2 of 4 image(s) to delete: 30 GB, $1.50 a month at $0.05/GB-month" in dry.stdout, dry.stdout

    applied = subprocess.run([*command, "--apply"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    left = {image["Name"] for image in client.describe_images(Owners=["self"])["Images"]}
    assert left == {PROD_ONLY, AMIS[-1]}, applied.stdout
    snapshots = {snapshot["SnapshotId"] for snapshot in client.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    for name in AMIS[1:3]:
        assert amis[name][1] not in snapshots, f"{name}'s EBS snapshot was left behind"
    assert amis[PROD_ONLY][1] in snapshots and amis[AMIS[-1]][1] in snapshots
