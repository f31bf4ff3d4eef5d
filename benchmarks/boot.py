"""Boot figures: the app image to healthy against the stock Debian 13 disk to the end of cloud-init.

    uv run python benchmarks/boot.py [--boots N] [--no-rebuild] [--baseline-app QCOW2]

Both boots run in this one invocation, alternately, on the same machine and load:

- the stock disk (`images/local/make-base-disk.sh`, what Packer starts from) with a
  minimal NoCloud seed, timed from starting QEMU to the end of cloud-init's last
  stage: the seed's only setting is cloud-init's `phone_home`, which posts to a
  listener here (through a guest forward) in the final stage, just before its final
  message (the serial console cannot tell: the stock kernel's /dev/console is tty0);
- the app image with the program's staging user-data against a real PostgreSQL here
  (as `tests/images/test_boot.py` boots it), timed from starting QEMU to the first
  200 from /healthz. Then, over SSH (a metadata key, as DigitalOcean delivers one),
  the guest's own view: `systemd-analyze`, the slowest units, cloud-init's stages and
  the used blocks of its file system (`df`).

With --baseline-app, an earlier app image (another tree's bake, from its cache) boots
alternately with this one, with the same user-data and database: before and after in
one run. (Each round boots the stock disk, this app image, then the baseline; the first
app boot of the run migrates the empty database, so compare the best of two or more.)

Bakes come from the cache ($IMMUTABLE_WEB_CACHE or images/local/.cache): a layer
baked now is timed, a cached one says so. Then an app-only rebuild (a new app version
on the same base) is baked and timed, unless --no-rebuild. Prints figures; asserts
nothing about speed (the issue's targets are printed beside them).
"""

from __future__ import annotations

import argparse
import http.server
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "images" / "local"), str(ROOT / "tests")]

import bake as local_bake  # noqa: E402
from boot import BootedImage  # noqa: E402
from postgres import LocalPostgres  # noqa: E402

from offline.harness import staging_user_data  # noqa: E402

BOOT_TIMEOUT_SECONDS = 600
GUEST_DATABASE = "10.0.2.100:5432"
GUEST_LISTENER = "10.0.2.100:8000"
# The stock disk's seed: nothing for cloud-init to do but tell us it reached its end.
STOCK_USER_DATA = f"#cloud-config\nphone_home:\n  url: http://{GUEST_LISTENER}/done\n  post: [instance_id]\n  tries: 1\n"
# The app's figure is only as fine as its polling (the stock disk's is exact: it posts to us). Each poll is a
# request the guest serves, so not much finer than this.
POLL_SECONDS = 0.1
TARGET_RATIO = 0.25
TARGET_MIB = 120
GUEST_REPORT = (
    "systemd-analyze time | head -n 1",
    "systemd-analyze blame --no-pager | head -n 10",
    "systemd-analyze critical-chain --no-pager webapp.service",
    "cloud-init analyze show | grep -E '^(Starting stage|Finished stage|Total Time)'",
    "cloud-init analyze blame | head -n 8",
    "df -B1M --output=used,size / | tail -n 1",
    "wc -l < /usr/lib/immutable-web/readahead.list",
    # cloud-init's single process (cloud-init-main) runs every stage; the stage units only hand over to it.
    "journalctl -b -o short-monotonic --no-pager -u boot-readahead -u cloud-init-main -u cloud-init-local -u cloud-init-network -u webapp-secrets -u webapp"
    " | grep -E 'Start|Finish|Skipped|Deactivated|listening|ready' | head -n 20",
)


def boot_stock(disk: Path, attempt: int) -> float | None:
    """Seconds from starting QEMU to cloud-init's phone_home at the end of its last stage, None on timeout."""
    posted = threading.Event()

    class PhoneHome(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.set()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), PhoneHome) as listener:
        threading.Thread(target=listener.serve_forever, daemon=True).start()
        with BootedImage(disk, STOCK_USER_DATA, hostname=f"stock-{attempt}", guest_forwards={GUEST_LISTENER: listener.server_address[1]}) as vm:
            done = posted.wait(BOOT_TIMEOUT_SECONDS)
            seconds = time.monotonic() - vm.started
        listener.shutdown()
    return seconds if done else None


def boot_app(image: Path, user_data: str, postgres: LocalPostgres, key: Path, attempt: int, report: bool) -> float | None:
    """Seconds from starting QEMU to the first 200 from /healthz; prints the guest's own figures if ``report``."""
    vm = BootedImage(
        image,
        user_data,
        hostname=f"bench-{attempt}",
        ssh_public_keys=[key.with_suffix(".pub").read_text().strip()],
        ssh_private_key=key,
        guest_forwards={GUEST_DATABASE: postgres.port},
    )
    with vm:
        answer, seconds = vm.wait_for_http("/healthz", BOOT_TIMEOUT_SECONDS, want_status=200, interval=POLL_SECONDS)
        if answer is None or answer[0] != 200:
            print(f"app boot {attempt + 1}: NOT healthy after {seconds:.0f} s; console tail:\n{vm.console_text()[-2000:]}")
            return None
        if report:
            vm.ssh("cloud-init status --wait", timeout=BOOT_TIMEOUT_SECONDS)  # systemd-analyze answers once boot is done
            for command in GUEST_REPORT:
                print(f"  guest$ {command}\n    " + vm.ssh(command, timeout=120).stdout.strip().replace("\n", "\n    "))
    return seconds


def qcow2_figures(qcow2: Path) -> str:
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(qcow2)], capture_output=True, text=True, timeout=60, check=True).stdout)
    return f"{info['actual-size'] / 2**20:.0f} MiB qcow2 on disk, {info['virtual-size'] / 2**30:.0f} GiB virtual"


def bake_figures(args: argparse.Namespace) -> dict[str, local_bake.Layer]:
    layers = local_bake.bake(app_version="1.4.2")
    for name in ("disk", "base", "app"):
        layer = layers[name]
        print(f"bake {name:<5} {f'{layer.seconds:.0f} s' if layer.built else 'cached'}  {layer.name}")
    if not args.no_rebuild:
        version = f"1.4.{int(time.time()) % 100000 + 100}"
        rebuilt = local_bake.bake(app_version=version)
        print(f"app-only rebuild ({version}): {rebuilt['app'].seconds:.0f} s; base rebuilt: {rebuilt['base'].built}")
    return layers


def summary(stock: list[float], app: list[float], baseline: list[float] | None) -> None:
    if not stock or not app or baseline == []:
        print("no ratio: a boot did not finish")
        return
    best_stock, best_app = min(stock), min(app)
    print(f"stock disk to end of cloud-init: {', '.join(f'{s:.1f}' for s in stock)} s (best {best_stock:.1f} s)")
    print(f"app image to healthy /healthz:   {', '.join(f'{s:.1f}' for s in app)} s (best {best_app:.1f} s)")
    if baseline is not None:
        print(f"baseline app image to healthy:   {', '.join(f'{s:.1f}' for s in baseline)} s (best {min(baseline):.1f} s)")
        print(f"ratio baseline/stock (best of each): {min(baseline) / best_stock:.2f}")
    print(f"ratio app/stock (best of each): {best_app / best_stock:.2f} (target <= {TARGET_RATIO})")


def existing_qcow2(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: no such file (an app image's .qcow2, e.g. from another tree's cache)")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boots", type=int, default=1, help="boots of each image, alternately")
    parser.add_argument("--no-rebuild", action="store_true", help="skip the app-only rebuild")
    parser.add_argument("--baseline-app", type=existing_qcow2, metavar="QCOW2", help="an earlier app image to boot alternately with this one (before and after)")
    args = parser.parse_args()
    if args.boots < 1:
        parser.error(f"--boots: at least 1, not {args.boots}")

    layers = bake_figures(args)
    print(f"app image: {qcow2_figures(layers['app'].qcow2)} (target <= {TARGET_MIB} MiB)")
    stock: list[float] = []
    app: list[float] = []
    baseline: list[float] | None = None if args.baseline_app is None else []
    with LocalPostgres(host_names=("127.0.0.1", "localhost", GUEST_DATABASE.split(":")[0])) as postgres, tempfile.TemporaryDirectory() as temp:
        key = Path(temp) / "operator"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60)
        host, port = GUEST_DATABASE.split(":")
        user_data = staging_user_data(
            database_host=host, database_port=int(port), database_user=postgres.user, database_password=postgres.password, database_name=postgres.database, database_ca=postgres.ca_certificate
        )
        for attempt in range(args.boots):
            seconds = boot_stock(layers["disk"].qcow2, attempt)
            print(f"stock boot {attempt + 1}: {'timed out' if seconds is None else f'{seconds:.1f} s'} to the end of cloud-init")
            stock += [seconds] if seconds is not None else []
            seconds = boot_app(layers["app"].qcow2, user_data, postgres, key, attempt, report=attempt == 0)
            print(f"app boot {attempt + 1}: {'not healthy' if seconds is None else f'{seconds:.1f} s'} to healthy /healthz")
            app += [seconds] if seconds is not None else []
            if baseline is not None:
                seconds = boot_app(args.baseline_app, user_data, postgres, key, attempt, report=False)
                print(f"baseline app boot {attempt + 1}: {'not healthy' if seconds is None else f'{seconds:.1f} s'} to healthy /healthz")
                baseline += [seconds] if seconds is not None else []
    summary(stock, app, baseline)


if __name__ == "__main__":
    main()
