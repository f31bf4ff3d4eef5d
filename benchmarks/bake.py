"""Local bake figures: base bake time, app-only rebuild time, app image size.

    uv run python benchmarks/bake.py [--keep]

Bakes in a fresh temporary cache, so both layers really are baked: the base on the
stock Debian disk, the app on that base, then an app-only rebuild (a new app
version on the same, cached base). The stock disk (Debian's packages, built by
mmdebstrap, not by our templates) is copied from images/local/.cache when there is
one, else built and timed too. Sizes come from `qemu-img info`: the qcow2's actual
size on disk and its virtual size. Prints figures; asserts nothing about speed.
--keep leaves the temporary cache in place and prints its path.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "images" / "local")]

import bake as local_bake  # noqa: E402
from qemu import accelerator  # noqa: E402


def image_info(qcow2: Path) -> dict:
    result = subprocess.run(["qemu-img", "info", "--output=json", str(qcow2)], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def mib(size: float) -> str:
    return f"{size / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary cache (prints its path)")
    args = parser.parse_args()

    cache = Path(tempfile.mkdtemp(prefix="bench-bake-"))
    try:
        for stock_disk in sorted(local_bake.CACHE.glob(f"{local_bake.STOCK_DISK}-*.qcow2")):
            shutil.copy(stock_disk, cache / stock_disk.name)

        started = time.monotonic()
        first = local_bake.bake("1.4.2", cache=cache)
        total = time.monotonic() - started
        disk, base, app = first["disk"], first["base"], first["app"]
        print(f"accelerator:             {accelerator(disk.qcow2)}")
        print(f"stock disk (mmdebstrap): {f'{disk.seconds:.0f} s' if disk.built else 'reused from images/local/.cache'}")
        print(f"base bake:               {base.seconds:.0f} s  ({base.name})")
        print(f"app bake:                {app.seconds:.0f} s  ({app.name})")
        print(f"first bake, all layers:  {total:.0f} s")

        started = time.monotonic()
        second = local_bake.bake("1.4.3", cache=cache)
        rebuild = time.monotonic() - started
        print(f"app-only rebuild:        {rebuild:.0f} s  ({second['app'].name}; base rebuilt: {second['base'].built})")

        for name, layer in (("base", base), ("app", app)):
            info = image_info(layer.qcow2)
            backing = info.get("backing-filename") or "none (self-contained)"
            print(f"{name + ' image size:':<25}{mib(info['actual-size'])} actual, {mib(info['virtual-size'])} virtual, backing file: {backing}")
    finally:
        if args.keep:
            print(f"cache kept: {cache}")
        else:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
