"""QEMU on this machine: choosing the accelerator, and running a guest that reaches only us.

KVM can look present here and still fail: on nested machines the device opens and
the BIOS runs, then the guest dies with "KVM internal error" once it leaves real
mode. So the probe boots a real disk and waits for the kernel's first console line;
only then is KVM used. Otherwise TCG (software emulation).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

PROBE_SECONDS = 20

# The guest's one network card, and the network a cloud's metadata describes for it. DigitalOcean's and EC2's
# datasources hand cloud-init the network (static addresses, or DHCPv4 and DHCPv6 where the subnet has IPv6);
# here the NoCloud seed does, as `network-config`: DHCPv4 on that card. Without one cloud-init falls back to
# DHCPv4 and DHCPv6 (cloud-init 25.1, Debian 13), and ifupdown waits its 300 s for a DHCPv6 server that
# QEMU's user network does not have. The address is QEMU's default for the first card (Packer's builder VM
# keeps it; boot.py sets it).
GUEST_MAC = "52:54:00:12:34:56"
NETWORK_CONFIG = f"""version: 1
config:
  - type: physical
    name: ens3
    mac_address: "{GUEST_MAC}"
    subnets:
      - type: dhcp
"""


@functools.cache
def accelerator(disk: Path) -> str:
    """'kvm' if a guest booted from ``disk`` (which logs to ttyS0) reaches its kernel under KVM, else 'tcg'."""
    if os.environ.get("IMMUTABLE_WEB_ACCEL") in ("kvm", "tcg"):
        return os.environ["IMMUTABLE_WEB_ACCEL"]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    process = subprocess.Popen(
        ["qemu-system-x86_64", "-accel", "kvm", "-m", "256", "-nographic", "-nodefaults", "-serial", "stdio", "-net", "none", "-snapshot", "-drive", f"file={disk},if=virtio"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    seen = b""
    deadline = time.monotonic() + PROBE_SECONDS
    try:
        os.set_blocking(process.stdout.fileno(), False)  # type: ignore[union-attr]
        while time.monotonic() < deadline and process.poll() is None:
            chunk = process.stdout.read(65536) or b""  # type: ignore[union-attr]
            seen += chunk
            if b"Linux version" in seen:
                return "kvm"
            if b"KVM internal error" in seen or b"emulation failure" in seen:
                break
            time.sleep(0.2)
    finally:
        process.kill()
        process.wait(timeout=10)
    print("qemu: KVM cannot run guests here; using TCG (software emulation)", file=sys.stderr)
    return "tcg"
