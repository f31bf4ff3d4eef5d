"""Boot an image on this machine the way a cloud boots a server: a NoCloud seed, restricted networking.

    with BootedImage(qcow2, user_data, meta_data_keys=[...], guest_forwards={...}) as vm:
        vm.http_get("/healthz")
        vm.ssh("systemctl is-active webapp")

- The disk is a copy-on-write overlay: the image itself is never changed.
- The seed (ISO, label `cidata`) carries `user-data` exactly as given (what the Pulumi
  program renders), `meta-data` (instance id, hostname, and optionally SSH public keys,
  which is how DigitalOcean delivers a stack's `sshKeys`: metadata, not user-data) and
  `network-config` (DHCPv4 on the one card, as a cloud's metadata describes the network: qemu.py).
- Networking is `-netdev user,restrict=on`: the guest reaches only what is forwarded,
  `hostfwd` for the app and SSH ports (on 127.0.0.1), `guestfwd` for, e.g., the database.
  A guest forward runs `socat` once *per guest connection* (`guestfwd=...-cmd:...`):
  a `guestfwd` to a `tcp:` chardev opens one host connection when QEMU starts and
  carries that one only, so a guest that boots slower than the server's idle timeout
  (PostgreSQL drops an unauthenticated connection after 60 s), or that connects twice,
  would find nothing behind it.
- The seed's `instance-id` is the server's identity as the cloud would hand it over (a
  droplet id); the app reports it, and the health gate waits for it.
- `shutdown()` presses the ACPI power button (QMP `system_powerdown`), as DigitalOcean's
  shutdown action does before a droplet is deleted; `wait_for_power_off()` waits for the
  guest to turn itself off.
- The console goes to a log file; every wait is bounded; the VM is killed on exit.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from qemu import GUEST_MAC, NETWORK_CONFIG, accelerator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def guest_forward(guest: str, host_port: int) -> str:
    """A `-netdev user` option: each guest connection to ``guest`` (address:port) reaches 127.0.0.1:``host_port``.

    QEMU starts the command for every connection the guest opens, its stdin/stdout
    being that connection; the command holds no comma (QEMU's option separator).
    """
    return f",guestfwd=tcp:{guest}-cmd:socat STDIO TCP:127.0.0.1:{host_port}"


class BootedImage:
    def __init__(
        self,
        image: Path,
        user_data: str,
        *,
        hostname: str = "local-vm",
        instance_id: str | None = None,
        app_port: int = 8080,
        ssh_public_keys: Sequence[str] = (),
        ssh_private_key: Path | None = None,
        guest_forwards: Mapping[str, int] | None = None,
        memory_mb: int = 1024,
        cpus: int = 2,
    ):
        self.image = image
        self.user_data = user_data
        self.hostname = hostname
        self.instance_id = instance_id or f"i-{hostname}"
        self.app_port = app_port
        self.ssh_public_keys = list(ssh_public_keys)
        self.ssh_private_key = ssh_private_key
        # guest address:port -> port on this machine's 127.0.0.1, e.g. {"10.0.2.100:5432": 54321}
        self.guest_forwards = dict(guest_forwards or {})
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.process: subprocess.Popen | None = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> BootedImage:
        self.workdir = Path(tempfile.mkdtemp(prefix="boot-"))
        self.console = self.workdir / "console.log"
        self.overlay = self.workdir / "overlay.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(self.image.resolve()), str(self.overlay)], check=True, timeout=60)
        seed = self._seed()
        self.http_port = free_port()
        self.ssh_port = free_port()
        netdev = f"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{self.http_port}-:{self.app_port},hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22"
        for guest, host_port in self.guest_forwards.items():
            netdev += guest_forward(guest, host_port)
        self.accelerator = accelerator(self.image)
        command = [
            "qemu-system-x86_64",
            "-accel",
            self.accelerator,
            "-machine",
            "q35",
            "-cpu",
            "max",
            "-smp",
            str(self.cpus),
            "-m",
            str(self.memory_mb),
            "-nodefaults",
            "-display",
            "none",
            "-serial",
            f"file:{self.console}",
            "-drive",
            f"file={self.overlay},if=virtio,format=qcow2,discard=unmap",
            "-drive",
            f"file={seed},if=virtio,format=raw,readonly=on",
            "-netdev",
            netdev,
            "-device",
            f"virtio-net-pci,netdev=net0,mac={GUEST_MAC}",
            "-device",
            "virtio-rng-pci",
            "-qmp",
            f"unix:{self.workdir / 'qmp.sock'},server=on,wait=off",
        ]
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def shutdown(self) -> None:
        """Press the power button (ACPI): the guest's systemd stops its services and powers off."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as qmp:
            qmp.settimeout(10)
            qmp.connect(str(self.workdir / "qmp.sock"))
            reader = qmp.makefile("rb")
            reader.readline()  # the greeting
            for command in ("qmp_capabilities", "system_powerdown"):
                qmp.sendall(json.dumps({"execute": command}).encode() + b"\n")
                while "return" not in (answer := json.loads(reader.readline() or b"{}")):
                    if not answer or "error" in answer:
                        raise RuntimeError(f"qmp {command}: {answer}")

    def wait_for_power_off(self, timeout: float) -> bool:
        """True once QEMU has exited (the guest powered itself off) within ``timeout`` seconds."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _seed(self) -> Path:
        seed_dir = self.workdir / "seed"
        seed_dir.mkdir()
        (seed_dir / "user-data").write_text(self.user_data)
        meta: dict[str, str | list[str]] = {"instance-id": self.instance_id, "local-hostname": self.hostname}
        if self.ssh_public_keys:
            meta["public-keys"] = self.ssh_public_keys
        (seed_dir / "meta-data").write_text(json.dumps(meta))  # JSON is YAML
        (seed_dir / "network-config").write_text(NETWORK_CONFIG)  # what a cloud's metadata says of the network
        seed = self.workdir / "seed.iso"
        files = [str(seed_dir / name) for name in ("user-data", "meta-data", "network-config")]
        subprocess.run(
            ["genisoimage", "-quiet", "-output", str(seed), "-volid", "cidata", "-joliet", "-rock", *files],
            check=True,
            timeout=60,
        )
        return seed

    # -- talking to the guest ----------------------------------------------

    def console_text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def http_get(self, path: str, timeout: float = 5) -> tuple[int, dict] | None:
        """(status, JSON body), or None if nothing answered."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read())
            except ValueError:
                return error.code, {}
        except (OSError, ValueError):
            return None

    def wait_for_http(self, path: str, timeout: float, want_status: int | None = None, interval: float = 0.5) -> tuple[tuple[int, dict] | None, float]:
        """Poll until the app answers (with ``want_status`` if given), ``interval`` seconds apart; returns (answer, seconds since start)."""
        deadline = time.monotonic() + timeout
        answer = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"qemu exited ({self.process.returncode}): {self.process.stdout.read().decode(errors='replace') if self.process.stdout else ''}")
            answer = self.http_get(path)
            if answer is not None and (want_status is None or answer[0] == want_status):
                return answer, time.monotonic() - self.started
            time.sleep(interval)
        return answer, time.monotonic() - self.started

    def ssh(self, command: str, timeout: float = 60, password_only: bool = False) -> subprocess.CompletedProcess:
        options = [
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
            "-p",
            str(self.ssh_port),
        ]
        if password_only:
            # What a password guesser would try; BatchMode answers no prompt.
            options += ["-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive"]
        else:
            options += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", str(self.ssh_private_key)]
        return subprocess.run(["ssh", *options, "root@127.0.0.1", command], capture_output=True, text=True, timeout=timeout)


def with_host_names(user_data: str, names: Mapping[str, str]) -> str:
    """The program's cloud-config plus `bootcmd` lines mapping each name to a guest forward's address in /etc/hosts.

    A real log destination has a DNS name, and its certificate is checked against that name; a guest here
    has no DNS (`-netdev user,restrict=on`), so the name is made to resolve to the forward. The one local
    addition to the program's user-data, made in the open: ``names`` is name -> address.
    """
    import yaml

    header, _, body = user_data.partition("\n")
    if header.strip() != "#cloud-config":
        raise ValueError("not a #cloud-config document")
    document = yaml.safe_load(body) or {}
    document["bootcmd"] = [*document.get("bootcmd", []), *(f"echo '{address} {name}' >> /etc/hosts" for name, address in names.items())]
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=4096)
