"""The sample app (images/webapp/app.py) run as the image runs it: Debian's python3, `-I`, config from the environment only.

    with RunningApp(postgres) as app:              # waits until /readyz is 200 (schema migrated)
        status, body = get(app.url + "/")
    with RunningApp(postgres, ready=False, DATABASE_PASSWORD="wrong") as app:   # does not wait

``app_path`` runs another copy of the app (the previous release's, taken from git).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from postgres import LocalPostgres, free_port, wait_for

APP = Path(__file__).resolve().parents[1] / "images" / "webapp" / "app.py"
sys.path.insert(0, str(APP.parents[1] / "local"))
from release import EXPAND_0002 as EXPAND_0002  # noqa: E402 - re-exported: the rehearsal's next release carries the same migration

MIGRATIONS = APP.parent / "migrations"
SYSTEM_PYTHON = "/usr/bin/python3"
READY_TIMEOUT_SECONDS = 30
# What migration.env carries (components/common/cloud_init.py): webapp-migrate.service's alone, never the app's.
MIGRATION_ENV_NAMES = ("DATABASE_MIGRATION_USER", "DATABASE_MIGRATION_PASSWORD", "DATABASE_MIGRATION_MANAGES_USER")


@functools.cache  # asked by every app test module when it is imported: one python3 run per process, not per module
def has_system_modules(*modules: str) -> bool:
    """Whether Debian's python3 imports these (python3-psycopg2, python3-alembic, ...)."""
    statement = "; ".join(f"import {module}" for module in modules)
    return Path(SYSTEM_PYTHON).exists() and subprocess.run([SYSTEM_PYTHON, "-c", statement], capture_output=True, timeout=60).returncode == 0


def request(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, dict[str, str]]:
    """(status, JSON body, response headers) of a GET."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def get(url: str) -> tuple[int, dict]:
    status, body, _ = request(url)
    return status, body


def next_version_migrations(tmp_path: Path, migration: str) -> Path:
    """This version's migrations plus one of the next version's (`APP_MIGRATIONS` points the app at them)."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "0002_next.py").write_text(migration)
    return folder


class RunningApp:
    def __init__(self, postgres: LocalPostgres, *, ready: bool = True, app_path: Path = APP, **env_changes: str):
        self.port = free_port()
        self.output = ""
        env = {
            "PATH": os.environ["PATH"],
            "APP_NAME": "hello",
            "APP_VERSION": "1.4.2",
            "IMAGE_NAME": "hello-1.4.2-0123456789ab",
            "APP_ENV": "test",
            "APP_PORT": str(self.port),
            "APP_BIND": "127.0.0.1",
            "APP_SECRET": "s3cret-value",
            "DATABASE_HOST": "127.0.0.1",
            "DATABASE_PORT": str(postgres.port),
            "DATABASE_NAME": postgres.database,
            "DATABASE_USER": postgres.user,
            "DATABASE_PASSWORD": postgres.password,
            # What the product sends (components/cloud_init.py): verify the server against the cluster's CA.
            "DATABASE_SSLMODE": "verify-full",
            "DATABASE_SSLROOTCERT": str(postgres.ca_file),
        }
        owner: dict[str, str] = {name: env_changes.pop(name) for name in MIGRATION_ENV_NAMES if name in env_changes}
        env.update(env_changes)
        if owner:
            self._migrate_as_owner(env, owner, app_path)
        self.process = subprocess.Popen([SYSTEM_PYTHON, "-I", str(app_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.url = f"http://127.0.0.1:{self.port}"
        if not wait_for(self._listening, timeout=20):
            self.stop()
            raise RuntimeError(f"app did not start: {self.output}")
        # Ready: the database answered and the schema is migrated (what the load balancer waits for).
        if ready and not wait_for(lambda: get(self.url + "/readyz")[0] == 200, timeout=READY_TIMEOUT_SECONDS):
            self.stop()
            raise RuntimeError(f"app did not become ready: {self.output}")

    def _migrate_as_owner(self, env: dict[str, str], owner: dict[str, str], app_path: Path) -> None:
        """As the image does where the schema's owner is not the serving role: webapp-migrate.service's `app.py --migrate`
        with the owner's credentials from migration.env, which the app's own process only sees exists."""
        self.state = Path(tempfile.mkdtemp(prefix="webapp-migrate-"))
        migration_env = self.state / "migration.env"
        migration_env.write_text("".join(f'{name}="{value}"\n' for name, value in owner.items()))
        migration_env.chmod(0o600)
        env.update(APP_MIGRATION_ENV_FILE=str(migration_env), APP_MIGRATION_STATUS_FILE=str(self.state / "status.json"))
        self.migrate_env = {**env, **owner}
        self.migrate_exit = self.migrate_again(app_path)

    def migrate_again(self, app_path: Path = APP) -> int:
        """webapp-migrate.service's run once more (as on another server's boot, or a restart): its exit status; its output is added to ``output``."""
        migrate = subprocess.run([SYSTEM_PYTHON, "-I", str(app_path), "--migrate"], env=self.migrate_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        self.output += migrate.stdout
        return migrate.returncode

    def _listening(self) -> bool:
        try:
            urllib.request.urlopen(self.url + "/nope", timeout=1)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=10)
        self.output += self.process.stdout.read() if self.process.stdout else ""
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
