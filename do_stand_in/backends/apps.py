"""A droplet of the ``process`` backend: the image's app run as a local process, configured as its user-data configures it.

What cloud-init would write on the droplet is read from its user-data: the ``write_files``
entries for the app's environment file and the database's CA. The app then runs as the image
runs it (Debian's ``/usr/bin/python3 -I images/webapp/app.py``, its environment from those files
only), bound to the droplet's own loopback address, with cloud-init's instance data naming the
droplet id as its instance id. What the image bakes (``image.env``: version and image name) is
taken from the image's name (``hello-1.4.2-<hash>``).

A droplet whose user-data writes no environment file (a Packer build droplet) runs nothing,
as the image's unit would not start (``ConditionPathExists=/etc/webapp/app.env``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

import yaml

APP = Path(__file__).resolve().parents[2] / "images" / "webapp" / "app.py"
SYSTEM_PYTHON = "/usr/bin/python3"
ENV_FILE_PATH = "/etc/webapp/app.env"
DATABASE_CA_PATH = "/etc/webapp/database-ca.crt"
# Where the schema's owner is not the serving role (DigitalOcean): its credentials, which only the image's
# one-shot webapp-migrate.service loads (`app.py --migrate`, tried again 10 s after a failure), never the app.
MIGRATION_ENV_PATH = "/etc/webapp/migration.env"
MIGRATE_RETRY_SECONDS = 10
MIGRATE_ATTEMPTS = 30
IMAGE_NAME = re.compile(r"^(?P<app>[a-z0-9-]+?)-(?P<version>\d[^-]*(?:-[a-z0-9.]+)?)-(?P<hash>[0-9a-f]{12})$")
# As the image's unit: systemd waits TimeoutStopSec=80 for a drained app to exit, then kills it.
STOP_TIMEOUT_SECONDS = 80
ENV_LINE = re.compile(r'^(?P<name>[A-Z][A-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"$')


def files_from_user_data(user_data: str | None) -> dict[str, str]:
    """Path -> content of each file a ``#cloud-config`` user-data writes (``write_files``)."""
    if not user_data or not user_data.startswith("#cloud-config"):
        return {}
    document = yaml.safe_load(user_data) or {}
    return {entry["path"]: entry.get("content", "") for entry in document.get("write_files") or [] if isinstance(entry, dict) and "path" in entry}


def parse_env_file(text: str) -> dict[str, str]:
    """A systemd ``EnvironmentFile=`` as the program writes it: ``NAME="value"`` a line, ``\\`` escaping."""
    env = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        found = ENV_LINE.match(line)
        if found is None:
            raise ValueError(f'not a NAME="value" line: {line.split("=", 1)[0]}=...')
        env[found["name"]] = re.sub(r"\\(.)", r"\1", found["value"])
    return env


def image_env(image_name: str) -> dict[str, str]:
    """What the image bakes into ``/etc/webapp/image.env``, from its name."""
    found = IMAGE_NAME.match(image_name)
    if found is None:
        return {"IMAGE_NAME": image_name}
    return {"APP_NAME": found["app"], "APP_VERSION": found["version"], "IMAGE_NAME": image_name}


class DropletProcess:
    """One droplet's app: started at boot, SIGTERM on shutdown (it drains), SIGKILL on power-off or delete."""

    def __init__(self, folder: Path, droplet: dict[str, Any], address: str, user_data: str | None):
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.stop_asked: float | None = None
        self.stopping = False
        self._log: IO[bytes] | None = None
        files = files_from_user_data(user_data)
        if ENV_FILE_PATH not in files:
            return
        folder.mkdir(parents=True, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **image_env(droplet["image"]["name"]), **parse_env_file(files[ENV_FILE_PATH])}
        if DATABASE_CA_PATH in files:
            (folder / "database-ca.crt").write_text(files[DATABASE_CA_PATH])
            if env.get("DATABASE_SSLROOTCERT") == DATABASE_CA_PATH:
                env["DATABASE_SSLROOTCERT"] = str(folder / "database-ca.crt")
        instance_data = folder / "instance-data.json"
        instance_data.write_text(json.dumps({"v1": {"instance_id": str(droplet["id"]), "local_hostname": droplet["name"]}}))
        env.update(APP_BIND=address, CLOUD_INIT_INSTANCE_DATA=str(instance_data))
        self._log = (folder / "app.log").open("ab")
        self.migrator: threading.Thread | None = None
        if MIGRATION_ENV_PATH in files:
            migration_env = folder / "migration.env"
            migration_env.write_text(files[MIGRATION_ENV_PATH])
            migration_env.chmod(0o600)
            env.update(APP_MIGRATION_ENV_FILE=str(migration_env), APP_MIGRATION_STATUS_FILE=str(folder / "migrate-status.json"))
            owner = {**env, **parse_env_file(files[MIGRATION_ENV_PATH])}
            # As webapp.service pulls the unit in: no ordering, the app listens and waits for the schema.
            self.migrator = threading.Thread(target=self._migrate, args=(owner,), daemon=True)
            self.migrator.start()
        self.process = subprocess.Popen([SYSTEM_PYTHON, "-I", str(APP)], env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder)

    def _migrate(self, owner_env: dict[str, str]) -> None:
        """webapp-migrate.service: `app.py --migrate` as the schema's owner, again after a failure (Restart=on-failure)."""
        for _ in range(MIGRATE_ATTEMPTS):
            if self.stopping:
                return
            done = subprocess.run([SYSTEM_PYTHON, "-I", str(APP), "--migrate"], env=owner_env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.folder, timeout=120)
            if done.returncode == 0:
                return
            time.sleep(MIGRATE_RETRY_SECONDS)

    def stop(self, graceful: bool) -> None:
        self.stopping = True
        if self.process is None or self.process.poll() is not None:
            return
        if graceful:
            self.stop_asked = time.monotonic()
            self.process.send_signal(signal.SIGTERM)
        else:
            self.process.kill()

    def stopped(self) -> bool:
        if self.process is None:
            return True
        if self.process.poll() is None and self.stop_asked is not None and time.monotonic() - self.stop_asked > STOP_TIMEOUT_SECONDS:
            self.process.kill()
        return self.process.poll() is not None

    def close(self) -> None:
        self.stop(graceful=False)
        if self.process is not None:
            self.process.wait(timeout=30)
        if self._log is not None:
            self._log.close()
