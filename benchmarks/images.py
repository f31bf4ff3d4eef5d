"""Image figures: bake times, image size, boot-to-healthy, unit exposure.

    uv run python benchmarks/images.py [--fresh]

--fresh bakes the base and app layers from scratch in a temporary cache (the stock
Debian disk is reused from images/local/.cache if present: it is Debian's packages,
not ours). Without it, cached layers are reported as cached. Then: an app-only
rebuild (a new app version on the same base), the app image's size (qcow2 on disk and
the used blocks of its file system), and the time from starting QEMU to the first 200
from /healthz with the program's staging user-data and a real PostgreSQL, under the
accelerator this machine allows (TCG here).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "images" / "local"), str(ROOT / "tests")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fresh", action="store_true", help="bake base and app from scratch in a temporary cache")
    parser.add_argument("--boots", type=int, default=3, help="boots to time")
    args = parser.parse_args()

    if args.fresh:
        cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
        for disk in (ROOT / "images" / "local" / ".cache").glob("debian-12-*.qcow2"):
            shutil.copy(disk, cache / disk.name)
        os.environ["IMMUTABLE_WEB_CACHE"] = str(cache)

    import bake as local_bake  # after IMMUTABLE_WEB_CACHE is set
    from boot import BootedImage
    from postgres import LocalPostgres

    from offline.harness import staging_user_data

    layers = local_bake.bake(app_version="1.4.2")
    for name in ("disk", "base", "app"):
        layer = layers[name]
        print(f"bake {name:<5} {f'{layer.seconds:.0f} s' if layer.built else 'cached'}  {layer.name}")
    version = f"1.4.{int(time.time()) % 100000 + 100}"
    rebuilt = local_bake.bake(app_version=version)
    print(f"app-only rebuild ({version}): {rebuilt['app'].seconds:.0f} s; base rebuilt: {rebuilt['base'].built}")

    app = layers["app"].qcow2
    info = subprocess.run(["qemu-img", "info", str(app)], capture_output=True, text=True, timeout=60).stdout
    disk_size = re.search(r"disk size: (.*)", info)
    assert disk_size is not None, info
    print(f"app image: {app.stat().st_size / 2**20:.0f} MiB qcow2 file; {disk_size.group(1)} on disk")

    with LocalPostgres(host_names=("127.0.0.1", "localhost", "10.0.2.100")) as postgres:
        user_data = staging_user_data(
            database_host="10.0.2.100",
            database_port=5432,
            database_user=postgres.user,
            database_password=postgres.password,
            database_name=postgres.database,
            database_ca=postgres.ca_certificate,
        )
        for attempt in range(args.boots):
            with BootedImage(app, user_data, hostname=f"bench-{attempt}", guest_forwards={"10.0.2.100:5432": postgres.port}) as vm:
                answer, seconds = vm.wait_for_http("/healthz", 600, want_status=200)
                healthy = answer is not None and answer[0] == 200
                print(f"boot {attempt + 1}: {'healthy' if healthy else 'NOT healthy'} after {seconds:.1f} s ({vm.accelerator})")

    unit = ROOT / "images" / "webapp" / "webapp.service"
    security = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True, text=True, timeout=120)
    score = re.search(r"Overall exposure level for \S+: (.*)", security.stdout + security.stderr)
    print(f"systemd-analyze security webapp.service: {score.group(1) if score else 'n/a'}")
    if args.fresh:
        shutil.rmtree(os.environ["IMMUTABLE_WEB_CACHE"], ignore_errors=True)


if __name__ == "__main__":
    main()
