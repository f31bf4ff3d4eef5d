"""Bake the images on this machine: the same templates and provisioners, Packer's qemu source.

    uv run python images/local/bake.py [--app-version 1.4.2] [--app-name hello]

From Python (the repository root and images/local on sys.path):

    from bake import bake, bake_app_image
    bake_app_image("1.4.2")            # -> Path of the app qcow2 (standalone, no backing file)
    bake("1.4.2")["base"].built        # -> the three Layers, and whether each was baked now

Three layers, each cached by the content hash of what it is made from, so a
second run rebuilds only what changed (an app-only change rebuilds only the app):

1. stock disk: `make-base-disk.sh` (mmdebstrap, Debian 13), standing in for DigitalOcean's
   `debian-13-x64`; cached by the script's hash;
2. base: `packer build -only=qemu.base images/base` on the stock disk; cached by
   its image name (the hash of the files the base template uses) and the stock disk;
3. app:  `packer build -only=qemu.app images/app` on the base, named like the
   cloud image (`<app>-<version>-<source hash>`, by the function the Pulumi
   program calls: components.image_sources); cached by that name and the base it was baked on.

The builder VM gets Packer's temporary SSH key from a NoCloud seed (a cloud gives
it from its metadata), runs with `-netdev user,restrict=on` (it reaches only its
forwarded SSH port), and uses KVM where it works, else TCG.
Packer older than 1.7 (Debian's 1.6.6) does not know `required_plugins`: it bakes
from a copy of images/ without the plugins.pkr.hcl files (its builders are built in);
the copy holds the images/common files each layer links (sources, variables).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from components.common.image_sources import image_source_hashes  # noqa: E402
from components.common.naming import app_image_name, base_image_name  # noqa: E402
from components.common.packer_output import ImageManifest, parse_image_manifest  # noqa: E402
from components.common.patch_level import read_patch_level  # noqa: E402

# The local image is named as the staging stack names its snapshot.
LOCAL_BAKING_STACK = "staging"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from qemu import NETWORK_CONFIG, accelerator  # noqa: E402

IMAGES = PROJECT_DIR / "images"
CACHE = Path(os.environ.get("IMMUTABLE_WEB_CACHE", IMAGES / "local" / ".cache"))
BASE_SOURCE_IMAGE = "debian-13-x64"  # what the stock disk stands in for; the Pulumi program's default baseImage
STOCK_SUITE = "trixie"  # make-base-disk.sh's default DEBIAN_SUITE: Debian 13
STOCK_DISK = "debian-13"  # the stock disk's file name prefix in the cache
PACKER_TIMEOUT_SECONDS = 3600
DISK_TIMEOUT_SECONDS = 1800
LOCK_TIMEOUT_SECONDS = 2 * PACKER_TIMEOUT_SECONDS + DISK_TIMEOUT_SECONDS
# How many of each layer the cache keeps (newest first); older ones are deleted after a bake.
KEEP = {STOCK_DISK: 1, "base": 2, "app": 3}


@dataclass(frozen=True)
class Layer:
    name: str
    qcow2: Path
    manifest: Path
    built: bool  # False when it came from the cache
    seconds: float
    image_manifest: ImageManifest | None = None
    """What images/scripts/manifest.sh recorded in the image (None for the stock disk)."""
    packages: Path | None = None
    """The image's package manifest, downloaded by the bake (None for the stock disk)."""


def log(message: str) -> None:
    print(f"bake: {message}", file=sys.stderr, flush=True)


def packer_supports_required_plugins() -> bool:
    output = subprocess.run(["packer", "version"], capture_output=True, text=True, timeout=60).stdout
    match = re.search(r"v?(\d+)\.(\d+)", output)
    return match is not None and (int(match.group(1)), int(match.group(2))) >= (1, 7)


def template_tree(workdir: Path, images: Path = IMAGES) -> Path:
    """``images`` (a checkout's images/) as Packer will read it (without plugins.pkr.hcl for a Packer that predates them)."""
    if packer_supports_required_plugins():
        return images
    tree = workdir / "images"
    # copytree follows links: each layer's copy holds the images/common files it links, as Packer reads them.
    for folder in ("base", "app", "scripts", "webapp"):
        shutil.copytree(images / folder, tree / folder, ignore=shutil.ignore_patterns("plugins.pkr.hcl", "__pycache__"))
    return tree


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


@contextlib.contextmanager
def cache_lock(cache: Path):
    """One bake at a time per cache (a test and a benchmark may start one together); bounded wait."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another bake held {cache / '.lock'} for {LOCK_TIMEOUT_SECONDS} s") from None
                time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stock_disk(cache: Path) -> Layer:
    script = IMAGES / "local" / "make-base-disk.sh"
    disk = cache / f"{STOCK_DISK}-{_key(_sha(script), os.environ.get('DEBIAN_SUITE', STOCK_SUITE), os.environ.get('DEBIAN_MIRROR', ''))}.qcow2"
    if disk.exists():
        os.utime(disk)  # most recently used: pruned last
        return Layer(disk.stem, disk, disk, built=False, seconds=0.0)
    log(f"disk: building {disk.name} with mmdebstrap")
    start = time.monotonic()
    subprocess.run([str(script), str(disk)], check=True, timeout=DISK_TIMEOUT_SECONDS)
    return Layer(disk.stem, disk, disk, built=True, seconds=time.monotonic() - start)


def build_key(cache: Path) -> tuple[Path, str]:
    """Packer's SSH key for the builder VM (the local stand-in for the key a cloud injects)."""
    key = cache / "build-key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "packer-local-build", "-f", str(key)], check=True, timeout=60)
    return key, (key.with_suffix(".pub")).read_text().strip()


def seed_files(workdir: Path, instance: str, public_key: str) -> list[Path]:
    """A NoCloud seed that authorises Packer's key for root and describes the network, as a cloud's metadata would."""
    seed = workdir / "seed"
    seed.mkdir(parents=True, exist_ok=True)
    (seed / "meta-data").write_text(f"instance-id: {instance}\nlocal-hostname: packer-builder\n")
    (seed / "user-data").write_text(
        f"#cloud-config\nwrite_files:\n  - path: /root/.ssh/authorized_keys\n    owner: root:root\n    permissions: '0600'\n    content: {json.dumps(public_key + chr(10))}\n"
    )
    (seed / "network-config").write_text(NETWORK_CONFIG)
    return [seed / "user-data", seed / "meta-data", seed / "network-config"]


def packer_build(layer: str, template: Path, image_name: str, inputs: str, variables: dict[str, str], workdir: Path, cache: Path, probe_disk: Path) -> Layer:
    """Bake one layer with `packer build -only=qemu.<layer>`, unless the cache holds it for these inputs."""
    out = cache / f"{image_name}.{inputs}"  # the layer's name and what it was baked on
    qcow2 = out / f"{image_name}.qcow2"
    manifest = out.with_name(out.name + ".manifest.json")  # beside, not in: -force empties the output directory
    # The line manifest.sh printed (patch level, package manifest digest), as the Pulumi program reads it from a cloud bake.
    recorded = out.with_name(out.name + ".image-manifest.json")
    packages = out.with_name(out.name + ".packages")  # the image's package manifest, downloaded by the bake
    if qcow2.exists() and manifest.exists() and recorded.exists() and packages.exists():
        log(f"{layer}: {image_name} is cached")
        os.utime(qcow2)  # most recently used: pruned last
        return Layer(image_name, qcow2, manifest, built=False, seconds=0.0, image_manifest=ImageManifest(**json.loads(recorded.read_text())), packages=packages)
    key, public_key = build_key(cache)
    seeds = seed_files(workdir / layer, f"packer-{image_name}", public_key)
    arguments = {
        **variables,
        "image_name": image_name,
        "qemu_output_directory": str(out),
        "qemu_accelerator": accelerator(probe_disk),
        "qemu_seed_files": json.dumps([str(p) for p in seeds]),
        "qemu_ssh_private_key_file": str(key),
        "manifest_path": str(manifest),
        "package_manifest_path": str(packages),
    }
    command = ["packer", "build", "-force", "-machine-readable", "-color=false", f"-only=qemu.{layer}"]
    for name, value in arguments.items():
        command += ["-var", f"{name}={value}"]
    command.append(str(template))
    log(f"{layer}: baking {image_name} ({arguments['qemu_accelerator']})")
    start = time.monotonic()
    returncode, output = run_packer(command, workdir)
    if returncode != 0:
        raise RuntimeError(f"packer build of {layer} failed (exit {returncode}); console log: {out}-console.log")
    image_manifest = parse_image_manifest(output, f"qemu.{layer}")
    recorded.write_text(json.dumps(image_manifest._asdict()) + "\n")
    return Layer(image_name, qcow2, manifest, built=True, seconds=time.monotonic() - start, image_manifest=image_manifest, packages=packages)


def run_packer(command: list[str], workdir: Path) -> tuple[int, str]:
    """Run Packer, its log going to stderr as it comes (stdout is for what the caller prints), killed past
    PACKER_TIMEOUT_SECONDS; return its exit status and its machine-readable output."""
    lines: list[str] = []
    with subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, text=True, env={**os.environ, "PACKER_NO_COLOR": "1", "CHECKPOINT_DISABLE": "1"}) as process:
        timer = threading.Timer(PACKER_TIMEOUT_SECONDS, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stderr.write(line)
                lines.append(line)
            returncode = process.wait()
        finally:
            timer.cancel()
    return returncode, "".join(lines)


def source_hashes(app_name: str, project_dir: Path = PROJECT_DIR) -> tuple[str, str]:
    """(base hash, app hash): the function __main__.py calls, with the stock image the local disk stands in for."""
    return image_source_hashes(project_dir, base_image=BASE_SOURCE_IMAGE, app_name=app_name)


def prune(cache: Path) -> None:
    """Keep the newest few of each layer (KEEP); app images are standalone, so no kept one needs a pruned base."""
    groups: dict[str, list[Path]] = {}
    for disk in cache.glob(f"{STOCK_DISK}-*.qcow2"):
        groups.setdefault(STOCK_DISK, []).append(disk)
    for qcow2 in cache.glob("*.*/*.qcow2"):
        # <app>-<stack>-base-<patch level>-<hash> (and the older <app>-<stack>-base-<hash> and webapp-base-<hash>); an app image has a version before its hash.
        groups.setdefault("base" if re.match(r".*-base-([0-9]{8}T[0-9]{6}Z-)?[0-9a-f]{12}(\.|$)", qcow2.name) else "app", []).append(qcow2)
    for kind, paths in groups.items():
        for old in sorted(paths, key=lambda p: p.stat().st_mtime, reverse=True)[KEEP[kind] :]:
            log(f"prune: {old.name}")
            if kind == STOCK_DISK:
                old.unlink(missing_ok=True)
            else:
                folder = old.parent
                folder.with_name(folder.name + ".manifest.json").unlink(missing_ok=True)
                folder.with_name(folder.name + ".image-manifest.json").unlink(missing_ok=True)
                folder.with_name(folder.name + ".packages").unlink(missing_ok=True)
                folder.with_name(folder.name + "-console.log").unlink(missing_ok=True)
                shutil.rmtree(folder, ignore_errors=True)


def bake(app_version: str = "1.4.2", app_name: str = "hello", *, cache: Path | None = None, project_dir: Path = PROJECT_DIR) -> dict[str, Layer]:
    """Bake (or take from the cache) the stock disk, the base and the app image; return the three layers.

    ``cache`` defaults to $IMMUTABLE_WEB_CACHE or images/local/.cache. ``project_dir`` is the
    checkout whose images/ is baked (another release's, for the rehearsal); the stock disk's
    script is always this checkout's.
    """
    cache = Path(cache or CACHE)
    base_hash, app_hash = source_hashes(app_name, project_dir)
    patch_level = read_patch_level(project_dir)
    with cache_lock(cache), tempfile.TemporaryDirectory(prefix="bake-") as temp:
        workdir = Path(temp)
        tree = template_tree(workdir, project_dir / "images")
        disk = stock_disk(cache)
        base = packer_build(
            "base",
            tree / "base",
            base_image_name(app_name, LOCAL_BAKING_STACK, patch_level, base_hash),
            _key(disk.name),
            {"qemu_source_disk": str(disk.qcow2), "apt_offline": "true", "patch_level": patch_level},
            workdir,
            cache,
            disk.qcow2,
        )
        app = packer_build(
            "app",
            tree / "app",
            app_image_name(app_name, LOCAL_BAKING_STACK, app_version, app_hash),
            _key(base.qcow2.parent.name),
            {"base_image": str(base.qcow2), "app_name": app_name, "app_version": app_version, "source_hash": app_hash},
            workdir,
            cache,
            disk.qcow2,
        )
        prune(cache)
    return {"disk": disk, "base": base, "app": app}


def bake_app_image(app_version: str = "1.4.2", app_name: str = "hello", *, cache: Path | None = None) -> Path:
    """The app image's qcow2 (self-contained), baked now or taken from the cache."""
    return bake(app_version, app_name, cache=cache)["app"].qcow2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app-version", default="1.4.2")
    parser.add_argument("--app-name", default="hello")
    args = parser.parse_args()
    layers = bake(args.app_version, args.app_name)
    for name, layer in layers.items():
        print(f"{name}: {layer.qcow2} ({f'built in {layer.seconds:.0f}s' if layer.built else 'cached'})")


if __name__ == "__main__":
    main()
