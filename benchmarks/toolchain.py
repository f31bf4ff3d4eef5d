"""The Pulumi CLI's build by scripts/bootstrap-pulumi: a fresh machine, a rebuild, and a reuse, in one run.

    uv run --frozen python benchmarks/toolchain.py [--skip-cold]

- cold: empty Go module and build caches and an empty bootstrap cache (what a new machine pays: every module
  fetched from the Go module proxy, everything compiled);
- rebuild: the Go caches of the cold run kept, the bootstrap cache emptied (a changed pin that leaves most
  modules as they were);
- reuse: the bootstrap cache kept (every later run on that machine).

Each prints its wall time, and the disk each cache holds afterwards. An installed `pulumi` is hidden from the
script (PATH without it), so that it builds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "bootstrap-pulumi"
TIMEOUT_SECONDS = 3600


def size_mib(path: Path) -> float:
    if not path.exists():
        return 0.0
    total = sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())
    return total / 2**20


def run(env: dict[str, str]) -> tuple[float, Path]:
    started = time.monotonic()
    result = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"toolchain: scripts/bootstrap-pulumi failed:\n{result.stderr}")
    return elapsed, Path(result.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--skip-cold", action="store_true", help="use this machine's Go caches instead of empty ones (no cold figure)")
    args = parser.parse_args(argv)
    go = shutil.which("go")
    if go is None:
        parser.error("needs Go 1.26.6 or newer on PATH")
    path = os.pathsep.join(entry for entry in os.environ.get("PATH", "").split(os.pathsep) if not (Path(entry) / "pulumi").exists())
    with tempfile.TemporaryDirectory(prefix="toolchain-bench-") as scratch:
        base = Path(scratch)
        env = {**os.environ, "PATH": path, "XDG_CACHE_HOME": str(base / "xdg")}
        if not args.skip_cold:
            env |= {"GOMODCACHE": str(base / "gomod"), "GOCACHE": str(base / "gobuild")}
        go_caches = {
            "Go modules": Path(env.get("GOMODCACHE") or subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True).stdout.strip()),
            "Go build cache": Path(env.get("GOCACHE") or subprocess.run([go, "env", "GOCACHE"], capture_output=True, text=True).stdout.strip()),
        }
        rows: list[tuple[str, float]] = []
        first, bin_dir = run(env)
        rows.append(("cold (empty Go caches)" if not args.skip_cold else "build (this machine's Go caches)", first))
        sizes = {name: size_mib(cache) for name, cache in go_caches.items()} if not args.skip_cold else {}
        sizes["the CLI (bootstrap cache)"] = size_mib(bin_dir)
        version = subprocess.run([str(bin_dir / "pulumi"), "version"], capture_output=True, text=True).stdout.strip()
        shutil.rmtree(base / "xdg")
        rows.append(("rebuild (Go caches kept)", run(env)[0]))
        rows.append(("reuse (bootstrap cache kept)", run(env)[0]))
        if not args.skip_cold:
            subprocess.run([go, "clean", "-modcache"], env=env, capture_output=True)  # its files are read-only
    print(f"Pulumi CLI {version}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at the end")
    for name, seconds in rows:
        print(f"  {name:36} {seconds:8.1f} s")
    for name, mib in sizes.items():
        print(f"  {name:36} {mib:8.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
