"""The interface between the API's records and what runs behind them.

The resource modules call a backend at each point where, on DigitalOcean, something
would start or stop: a droplet boots or powers off, a load balancer's pool changes, a
database cluster is made, its users and databases come and go. Each call gets the
record (a dict in DigitalOcean's own shape) and returns at once; anything slow happens
in the backend's own threads, and ``*_ready`` tells the store when a status may move on.

``addresses`` says which IP addresses a new droplet, load balancer or database answers
at: made-up public and private addresses for records only, loopback addresses where a
local process really listens on them.
"""

from __future__ import annotations

from typing import Any, Protocol

Record = dict[str, Any]


class Backend(Protocol):
    name: str

    def droplet_address(self, droplet_id: int) -> tuple[str, str]:
        """(public, private) IPv4 address of a new droplet."""
        ...

    def droplet_started(self, droplet: Record, user_data: str | None) -> None:
        """The droplet boots (created, or powered on): run what its image runs, with its user-data."""
        ...

    def droplet_stopped(self, droplet: Record, graceful: bool) -> None:
        """The droplet shuts down (``graceful``: an ACPI shutdown, the app drains), is powered off or deleted (not graceful)."""
        ...

    def droplet_settled(self, droplet: Record) -> bool:
        """Whether the droplet's last start or stop has finished: booted (it may be reported ``active``) or off."""
        ...

    def load_balancer_address(self, load_balancer_id: str) -> str: ...

    def load_balancer_changed(self, load_balancer: Record, pool: list[Record]) -> None:
        """The load balancer's rules, health check or pool (the droplets carrying its tag, or listed) changed."""
        ...

    def load_balancer_deleted(self, load_balancer: Record) -> None: ...

    def database_created(self, cluster: Record) -> None:
        """Make the cluster (its admin user and default database are in the record)."""
        ...

    def database_ready(self, cluster: Record) -> bool: ...

    def database_endpoint(self, cluster: Record) -> tuple[str, int]:
        """(host, port) the cluster serves at, private and public alike."""
        ...

    def database_ca(self, cluster: Record) -> str:
        """PEM of the CA that signed the cluster's server certificate."""
        ...

    def database_user_changed(self, cluster: Record, user: Record, deleted: bool = False) -> None: ...

    def database_db_changed(self, cluster: Record, name: str, deleted: bool = False) -> None: ...

    def database_deleted(self, cluster: Record) -> None: ...

    def close(self) -> None:
        """Stop everything this backend started."""
        ...
