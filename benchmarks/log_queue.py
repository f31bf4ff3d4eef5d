"""How many lines the log shipper's 64 MiB disk queue holds: measured with the real rule and rsyslogd.

    uv run python benchmarks/log_queue.py [--lines 30000]

Runs a sender rsyslogd (this machine's, the Debian package the image carries) with
the rule user-data hands the servers (components/common/log_shipping.py), pointed at a
port nothing listens on, so every line is queued; logs ``--lines`` request-log lines
like the app's; stops it (``queue.saveOnShutdown`` writes what was still in memory to
disk); and divides the spool's size by the line count.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from components.common.log_shipping import QUEUE_MAX_DISK_MIB, LogDestination, render_rsyslog_config  # noqa: E402


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(root: Path, lines: int) -> tuple[int, int]:
    """(bytes the queue took on disk, bytes of the lines logged)."""
    (root / "instance-id").write_text("i-0123456789abcdef0\n")
    (root / "image.env").write_text('APP_NAME="hello"\nAPP_VERSION="1.4.2"\nIMAGE_NAME="hello-1.4.2-0123456789ab"\n')
    (root / "cloud-init.log").write_text("")
    paths = {"instance_id_path": str(root / "instance-id"), "image_env_path": str(root / "image.env"), "cloud_init_log": str(root / "cloud-init.log")}
    (root / "ship.conf").write_text(render_rsyslog_config(LogDestination(host="localhost", port=closed_port(), ca=None), **paths))
    spool = root / "spool"
    spool.mkdir()
    config = root / "sender.conf"
    config.write_text(f'global(workDirectory="{spool}")\nmodule(load="imuxsock" SysSock.Use="off")\ninput(type="imuxsock" Socket="{root / "log.sock"}")\ninclude(file="{root / "ship.conf"}")\n')
    sender = subprocess.Popen(["rsyslogd", "-n", "-f", str(config), "-i", str(root / "rsyslogd.pid")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not (root / "log.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        text = "".join(f'10.0.2.2 "GET /healthz HTTP/1.1" 200 - request {n}\n' for n in range(lines))
        subprocess.run(["logger", "-u", str(root / "log.sock"), "-t", "webapp"], input=text, text=True, check=True, timeout=300)
        time.sleep(3)
    finally:
        sender.terminate()
        sender.wait(timeout=120)
    queued = sum(path.stat().st_size for path in spool.glob("immutable-web-ship.*"))
    return queued, len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=30000)
    lines = parser.parse_args().lines
    with tempfile.TemporaryDirectory(prefix="log-queue-") as root:
        queued, logged = measure(Path(root), lines)
    per_line = queued / lines
    print(f"{lines} lines of {logged / lines:.0f} bytes: {queued} bytes queued on disk, {per_line:.0f} bytes a line")
    print(f"{QUEUE_MAX_DISK_MIB} MiB on disk holds about {QUEUE_MAX_DISK_MIB * 2**20 / per_line:,.0f} such lines")


if __name__ == "__main__":
    main()
