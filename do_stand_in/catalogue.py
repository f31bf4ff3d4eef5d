"""What DigitalOcean offers, as far as this program and Packer ask: regions, droplet and database sizes, the account.

Figures (memory, prices) are DigitalOcean's published list for these slugs; a request for any
other slug is refused as DigitalOcean refuses it (422), so a typo in a stack file shows here.
"""

from __future__ import annotations

from typing import Any

REGIONS = {
    "nyc1": "New York 1",
    "nyc3": "New York 3",
    "sfo3": "San Francisco 3",
    "ams3": "Amsterdam 3",
    "fra1": "Frankfurt 1",
    "lon1": "London 1",
    "sgp1": "Singapore 1",
    "tor1": "Toronto 1",
    "blr1": "Bangalore 1",
    "syd1": "Sydney 1",
}
REGION_FEATURES = ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"]

# slug: (memory MiB, vcpus, disk GiB, transfer TiB, price per month USD, description)
DROPLET_SIZES = {
    "s-1vcpu-512mb-10gb": (512, 1, 10, 0.5, 4.0, "Basic"),
    "s-1vcpu-1gb": (1024, 1, 25, 1.0, 6.0, "Basic"),
    "s-1vcpu-2gb": (2048, 1, 50, 2.0, 12.0, "Basic"),
    "s-2vcpu-2gb": (2048, 2, 60, 3.0, 18.0, "Basic"),
    "s-2vcpu-4gb": (4096, 2, 80, 4.0, 24.0, "Basic"),
    "s-4vcpu-8gb": (8192, 4, 160, 5.0, 48.0, "Basic"),
    "c-2": (4096, 2, 25, 4.0, 42.0, "CPU-Optimized"),
}
DATABASE_SIZES = ["db-s-1vcpu-1gb", "db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "db-s-4vcpu-8gb"]
DATABASE_VERSIONS = {"pg": ["13", "14", "15", "16", "17"]}
HOURS_A_MONTH = 672  # DigitalOcean bills a month as 672 hours at most


DEFAULT_PROJECT_ID = "00000000-0000-4000-8000-0000000000aa"


def default_project() -> dict[str, Any]:
    """The account's default project, where every resource lands unless a request names another (none of this program's do)."""
    return {
        "id": DEFAULT_PROJECT_ID,
        "owner_uuid": account()["uuid"],
        "owner_id": 1,
        "name": "default",
        "description": "The account's default project",
        "purpose": "Web Application",
        "environment": "Development",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "is_default": True,
    }


def region(slug: str) -> dict[str, Any]:
    return {"name": REGIONS[slug], "slug": slug, "features": REGION_FEATURES, "available": True, "sizes": sorted(DROPLET_SIZES)}


def size(slug: str) -> dict[str, Any]:
    memory, vcpus, disk, transfer, price_monthly, description = DROPLET_SIZES[slug]
    return {
        "slug": slug,
        "memory": memory,
        "vcpus": vcpus,
        "disk": disk,
        "transfer": transfer,
        "price_monthly": price_monthly,
        "price_hourly": round(price_monthly / HOURS_A_MONTH, 5),
        "regions": sorted(REGIONS),
        "available": True,
        "description": description,
        "disk_info": [{"type": "local", "size": {"amount": disk, "unit": "gib"}}],
    }


def account() -> dict[str, Any]:
    return {
        "droplet_limit": 25,
        "floating_ip_limit": 3,
        "email": "stand-in@example.com",
        "name": "DigitalOcean stand-in",
        "uuid": "00000000-0000-4000-8000-000000000000",
        "email_verified": True,
        "status": "active",
        "status_message": "",
    }
