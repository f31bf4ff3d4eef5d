"""Boot-to-healthy: how long the baked app image takes from starting QEMU to its first 200 on /healthz.

    uv run python benchmarks/boot.py [--boots 3] [--no-breakdown]

Bakes the app image with `images/local/bake.py` (or takes it from the cache), starts a
real PostgreSQL on 127.0.0.1 (TLS on), and boots the image the way `tests/images/test_boot.py`
does: a copy-on-write overlay, `-netdev user,restrict=on` with only hostfwd/guestfwd, and a
NoCloud seed whose user-data is exactly what the Pulumi program renders for the staging stack.
Prints, per boot, the seconds from QEMU's start to the first 200, and the accelerator
(KVM if a probe guest really boots under it, else TCG). Then, from the last boot, where the
time went, as the guest itself reports it over SSH (a key given in metadata, as DigitalOcean
gives a stack's sshKeys): milestones on the guest's clock (systemd started, cloud-init's
stages, network online, webapp started, its first 200; the rest of the host's figure is
QEMU, firmware, boot loader), then, once the boot has finished, `systemd-analyze`, the
critical chain to webapp.service, the slowest units, cloud-init's stage timings; and the
unit's `systemd-analyze security` exposure, offline here and inside the running image.

Figures only; nothing here passes or fails on time.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "images" / "local"), str(ROOT / "tests")]

from bake import bake  # noqa: E402
from boot import BootedImage  # noqa: E402
from postgres import LocalPostgres  # noqa: E402

from offline.harness import run_program, staging_user_data  # noqa: E402

BOOT_TIMEOUT_SECONDS = 600
GUEST_DATABASE_HOST, GUEST_DATABASE_PORT = "10.0.2.100", 5432
# Milestones, in seconds since the guest kernel started (systemd's monotonic clock).
MILESTONE_UNITS = ("cloud-init-local.service", "networking.service", "cloud-init.service", "network-online.target", "webapp.service")
MILESTONES = (
    'echo "systemd (userspace) started $(systemctl show -P UserspaceTimestampMonotonic)"; '
    f"for unit in {' '.join(MILESTONE_UNITS)}; do "
    'echo "$unit active $(systemctl show -P ActiveEnterTimestampMonotonic "$unit")"; done; '
    "journalctl -b -u webapp.service -o short-monotonic --no-pager | grep -m 1 'GET /healthz HTTP/1.1\" 200' "
    "| sed -E 's/^\\[ *([0-9.]+)\\].*/first 200 on \\/healthz \\1/'"
)
# After the boot has finished (cloud-init's last stage included), systemd's own accounts.
BREAKDOWN = {
    "boot finished": "timeout 300 systemctl is-system-running --wait",
    "failed units (a degraded boot)": "systemctl --failed --no-legend --plain --no-pager",
    "systemd-analyze time": "systemd-analyze time",
    "critical chain to webapp.service": "systemd-analyze critical-chain --no-pager webapp.service",
    "slowest units": "systemd-analyze blame --no-pager | head -n 15",
    "cloud-init stages": "cloud-init analyze show 2>/dev/null | grep -E '^(Finished stage|Total Time)' || true",
    "cloud-init's slowest modules": "cloud-init analyze blame 2>/dev/null | grep -E '^ +[0-9]' | sort -rn | head -n 12 || true",
    "kernel drivers the root file system needs (=y: an initramfs-less boot is possible)": (
        "grep -E '^CONFIG_(VIRTIO_PCI|VIRTIO_BLK|EXT4_FS)=' /boot/config-$(uname -r); ls /boot"
    ),
    "exposure inside the image": "systemd-analyze security --no-pager webapp.service | tail -n 1",
}


def print_milestones(output: str) -> None:
    print("--- milestones (s since the guest kernel started)")
    for line in output.splitlines():
        label, _, value = line.rpartition(" ")
        try:
            # systemd reports microseconds; the journal's monotonic stamp is in seconds.
            seconds = float(value) / (1 if label.startswith("first 200") else 1e6)
        except ValueError:
            print(line)
            continue
        print(f"{label:<45} {seconds:6.1f}")


def offline_exposure() -> str:
    unit = ROOT / "images" / "webapp" / "webapp.service"
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for \S+: (.*)", result.stdout + result.stderr)
    return match.group(1) if match else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boots", type=int, default=3, help="boots to time (each a fresh overlay and seed)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the guest-side timing breakdown (no SSH key in the seed)")
    args = parser.parse_args()

    staging = run_program("staging")
    version, image_name = staging.outputs["appVersion"], staging.outputs["imageName"]
    app = bake(app_version=version, app_name="hello")["app"]
    print(f"image: {app.name} ({'baked now in %.0f s' % app.seconds if app.built else 'cached'}); staging names {image_name}")

    key_dir = Path(tempfile.mkdtemp(prefix="boot-bench-"))
    key = key_dir / "operator"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60)
    public_keys = [] if args.no_breakdown else [key.with_suffix(".pub").read_text().strip()]

    seconds: list[float] = []
    failures = 0
    with LocalPostgres(host_names=("127.0.0.1", "localhost", GUEST_DATABASE_HOST)) as postgres:
        user_data = staging_user_data(
            database_host=GUEST_DATABASE_HOST,
            database_port=GUEST_DATABASE_PORT,
            database_user=postgres.user,
            database_password=postgres.password,
            database_name=postgres.database,
            database_ca=postgres.ca_certificate,
        )
        for attempt in range(1, args.boots + 1):
            vm = BootedImage(
                app.qcow2,
                user_data,
                hostname=f"bench-{attempt}",
                ssh_public_keys=public_keys,
                ssh_private_key=key,
                guest_forwards={f"{GUEST_DATABASE_HOST}:{GUEST_DATABASE_PORT}": postgres.port},
            )
            with vm:
                answer, elapsed = vm.wait_for_http("/healthz", BOOT_TIMEOUT_SECONDS, want_status=200)
                healthy = answer is not None and answer[0] == 200 and answer[1].get("version") == version
                print(f"boot {attempt}: {'healthy' if healthy else 'NOT healthy'} after {elapsed:.1f} s (accelerator {vm.accelerator})", flush=True)
                if not healthy:
                    failures += 1
                    print(vm.console_text()[-2000:])
                    continue
                seconds.append(elapsed)
                if attempt == args.boots and not args.no_breakdown:
                    print_milestones(vm.ssh(MILESTONES, timeout=120).stdout)
                    for title, command in BREAKDOWN.items():
                        result = vm.ssh(command, timeout=120)
                        print(f"--- {title}: {command}")
                        print((result.stdout or result.stderr).rstrip())
    if seconds:
        print(f"boot to healthy over {len(seconds)} boots: median {statistics.median(seconds):.1f} s, min {min(seconds):.1f} s, max {max(seconds):.1f} s")
    print(f"systemd-analyze security --offline=true webapp.service: {offline_exposure()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
