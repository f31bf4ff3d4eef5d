"""The ``process`` backend: what the records stand for runs on this machine, each on a loopback address of its own.

- a droplet runs the image's app (``apps``), at ``127.1.x.y``, public and private address alike;
- a load balancer is an HAProxy (``haproxy``) at ``127.2.x.y`` on its rules' entry ports (80, 443:
  binding them needs root), pooling the droplets that carry its tag;
- a database cluster is a PostgreSQL server (``postgres``) with TLS at ``127.3.x.y:25060``.

Linux routes all of 127.0.0.0/8 to the loopback interface, so every resource has the address the
API reports and the real ports, and nothing listens beyond this machine. The database firewall
is kept as a record only: every local client connects from 127.0.0.1, so trusted sources cannot
be told apart here.
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
import tempfile
from pathlib import Path

from do_stand_in.backends.apps import DropletProcess
from do_stand_in.backends.base import Record
from do_stand_in.backends.haproxy import Balancer
from do_stand_in.backends.postgres import Cluster, identifier, literal

DROPLET_NETWORK = ipaddress.ip_network("127.1.0.0/16")
LOAD_BALANCER_NETWORK = ipaddress.ip_network("127.2.0.0/16")
DATABASE_NETWORK = ipaddress.ip_network("127.3.0.0/16")

log = logging.getLogger("do_stand_in")


class Addresses:
    """One loopback address per resource id, handed out in order and kept."""

    def __init__(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network):
        self.network = network
        self.given: dict[str, str] = {}

    def of(self, key: str | int) -> str:
        if str(key) not in self.given:
            self.given[str(key)] = str(self.network[len(self.given) + 2])
        return self.given[str(key)]


class ProcessBackend:
    name = "process"

    def __init__(self, folder: Path | None = None):
        self._temporary = folder is None
        self.folder = folder or Path(tempfile.mkdtemp(prefix="do-stand-in-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o711)  # the postgres user reaches its cluster's folder below
        self.droplet_addresses = Addresses(DROPLET_NETWORK)
        self.balancer_addresses = Addresses(LOAD_BALANCER_NETWORK)
        self.database_addresses = Addresses(DATABASE_NETWORK)
        self.droplets: dict[int, DropletProcess] = {}
        self.balancers: dict[str, Balancer] = {}
        self.clusters: dict[str, Cluster] = {}

    # Droplets.
    def droplet_address(self, droplet_id: int) -> tuple[str, str]:
        address = self.droplet_addresses.of(droplet_id)
        return address, address

    def droplet_started(self, droplet: Record, user_data: str | None) -> None:
        self.droplets[droplet["id"]] = DropletProcess(self.folder / f"droplet-{droplet['id']}", droplet, self.droplet_addresses.of(droplet["id"]), user_data)

    def droplet_stopped(self, droplet: Record, graceful: bool) -> None:
        running = self.droplets.get(droplet["id"])
        if running is not None:
            running.stop(graceful)

    def droplet_settled(self, droplet: Record) -> bool:
        # Booted at once (the app starts after boot, on its own time); off once a stopping app has exited.
        running = self.droplets.get(droplet["id"])
        return running is None or not running.stopping or running.stopped()

    # Load balancers.
    def load_balancer_address(self, load_balancer_id: str) -> str:
        return self.balancer_addresses.of(load_balancer_id)

    def load_balancer_changed(self, load_balancer: Record, pool: list[Record]) -> None:
        balancer = self.balancers.get(load_balancer["id"])
        shape = {name: load_balancer[name] for name in ("forwarding_rules", "health_check", "redirect_http_to_https")}
        if balancer is None:
            balancer = self.balancers[load_balancer["id"]] = Balancer(self.folder / f"lb-{load_balancer['id']}", load_balancer, self.load_balancer_address(load_balancer["id"]))
        elif shape != {name: balancer.balancer[name] for name in shape}:
            balancer.configure(load_balancer)
        balancer.set_pool({str(droplet["id"]): self.droplet_addresses.of(droplet["id"]) for droplet in pool})

    def load_balancer_deleted(self, load_balancer: Record) -> None:
        balancer = self.balancers.pop(load_balancer["id"], None)
        if balancer is not None:
            balancer.close()

    # Database clusters.
    def database_created(self, cluster: Record) -> None:
        address, _ = self.database_endpoint(cluster)
        # A folder of its own under the system's temporary folder: the postgres user must reach it, and a
        # caller's folder (a test's tmp_path) may be closed to other users.
        self.clusters[cluster["id"]] = Cluster(Path(tempfile.mkdtemp(prefix="do-stand-in-db-")), address, cluster["users"][0]["password"])

    def database_ready(self, cluster: Record) -> bool:
        made = self.clusters.get(cluster["id"])
        if made is not None and made.failed is not None and not made.failure_logged:
            made.failure_logged = True  # it stays "creating", as a cluster DigitalOcean cannot make does
            log.error("database cluster %s could not be made: %s", cluster["id"], made.failed)
        return made is None or made.ready.is_set()

    def database_endpoint(self, cluster: Record) -> tuple[str, int]:
        return self.database_addresses.of(cluster["id"]), 25060

    def database_ca(self, cluster: Record) -> str:
        return self.clusters[cluster["id"]].ca_certificate

    def database_user_changed(self, cluster: Record, user: Record, deleted: bool = False) -> None:
        name, password = identifier(user["name"]), literal(user.get("password", ""))
        if deleted:
            statement = f"DROP ROLE IF EXISTS {name}"
        else:
            exists = f"SELECT FROM pg_roles WHERE rolname = {literal(user['name'])}"
            statement = f"DO $$BEGIN IF EXISTS ({exists}) THEN ALTER ROLE {name} PASSWORD {password}; ELSE CREATE ROLE {name} LOGIN PASSWORD {password}; END IF; END$$"
        self.clusters[cluster["id"]].run(statement)

    def database_db_changed(self, cluster: Record, name: str, deleted: bool = False) -> None:
        statement = f"DROP DATABASE IF EXISTS {identifier(name)} WITH (FORCE)" if deleted else f"CREATE DATABASE {identifier(name)} OWNER doadmin"
        self.clusters[cluster["id"]].run(statement)

    def database_deleted(self, cluster: Record) -> None:
        made = self.clusters.pop(cluster["id"], None)
        if made is not None:
            made.close()
            shutil.rmtree(made.folder, ignore_errors=True)

    def close(self) -> None:
        for droplet in self.droplets.values():
            droplet.close()
        for balancer in self.balancers.values():
            balancer.close()
        for made in self.clusters.values():
            made.close()
            shutil.rmtree(made.folder, ignore_errors=True)
        self.droplets, self.balancers, self.clusters = {}, {}, {}
        if self._temporary:
            shutil.rmtree(self.folder, ignore_errors=True)
