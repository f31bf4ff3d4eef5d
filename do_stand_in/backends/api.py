"""The ``api`` backend: resources are records only; nothing runs behind them."""

from __future__ import annotations

import ipaddress

from do_stand_in.backends.base import Record
from do_stand_in.certificates import placeholder_ca

# Documentation ranges (RFC 5737): addresses nobody can reach by mistake.
PUBLIC_NETWORK = ipaddress.ip_network("203.0.113.0/24")
LOAD_BALANCER_NETWORK = ipaddress.ip_network("198.51.100.0/24")
PRIVATE_NETWORK = ipaddress.ip_network("10.116.0.0/20")


def _address(network: ipaddress.IPv4Network | ipaddress.IPv6Network, number: int) -> str:
    return str(network[2 + number % (network.num_addresses - 3)])


class ApiBackend:
    name = "api"

    def __init__(self) -> None:
        self._ca: str | None = None

    def droplet_address(self, droplet_id: int) -> tuple[str, str]:
        return _address(PUBLIC_NETWORK, droplet_id), _address(PRIVATE_NETWORK, droplet_id)

    def droplet_started(self, droplet: Record, user_data: str | None) -> None:
        pass

    def droplet_stopped(self, droplet: Record, graceful: bool) -> None:
        pass

    def droplet_settled(self, droplet: Record) -> bool:
        return True

    def load_balancer_address(self, load_balancer_id: str) -> str:
        return _address(LOAD_BALANCER_NETWORK, int(load_balancer_id.replace("-", ""), 16))

    def load_balancer_changed(self, load_balancer: Record, pool: list[Record]) -> None:
        pass

    def load_balancer_deleted(self, load_balancer: Record) -> None:
        pass

    def database_created(self, cluster: Record) -> None:
        pass

    def database_ready(self, cluster: Record) -> bool:
        return True

    def database_endpoint(self, cluster: Record) -> tuple[str, int]:
        return f"{cluster['name']}-do-user-0.db.stand-in.invalid", 25060

    def database_ca(self, cluster: Record) -> str:
        if self._ca is None:
            self._ca = placeholder_ca()
        return self._ca

    def database_user_changed(self, cluster: Record, user: Record, deleted: bool = False) -> None:
        pass

    def database_db_changed(self, cluster: Record, name: str, deleted: bool = False) -> None:
        pass

    def database_deleted(self, cluster: Record) -> None:
        pass

    def close(self) -> None:
        pass
