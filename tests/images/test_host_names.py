"""boot.with_host_names: the one local addition the VM tests make to the program's user-data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "images" / "local"))

from boot import with_host_names

from offline.harness import staging_user_data

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_the_programs_user_data_keeps_everything_and_gains_only_the_hosts_lines():
    rendered = staging_user_data(database_host="10.0.2.100", database_port=5432, database_user="hello", database_password="pw", database_name="hello", database_ca=CA)
    edited = with_host_names(rendered, {"logs.test": "10.0.2.101"})
    assert edited.startswith("#cloud-config\n")
    before, after = yaml.safe_load(rendered), yaml.safe_load(edited)
    assert after.pop("bootcmd") == ["echo '10.0.2.101 logs.test' >> /etc/hosts"]
    assert after == before


def test_anything_but_a_cloud_config_is_refused():
    with pytest.raises(ValueError, match="cloud-config"):
        with_host_names("#!/bin/sh\necho hi\n", {"logs.test": "10.0.2.101"})
