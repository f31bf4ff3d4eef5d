"""The one place the cloud is chosen: the stack's `cloud` setting picks its deployment here.

Each deployment wires one cloud's components (components/<cloud>/) with the
neutral ones (ImageBuild, HealthGate) from the validated settings. The config
refuses a cloud with no deployment before anything runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from config.reader import StackSettings
from config.shared import Cloud

# Each cloud's deployment module, imported only for a stack on that cloud (a provider SDK takes seconds to import).
DEPLOYMENTS: Mapping[Cloud, str] = {
    Cloud.DIGITALOCEAN: "deployments.digitalocean",
    Cloud.AWS: "deployments.aws",
}


def deploy(settings: StackSettings, *, project_dir: Path) -> None:
    """Create the stack's resources on its cloud and export its outputs; ``project_dir`` holds the program and its images."""
    importlib.import_module(DEPLOYMENTS[settings.cloud]).deploy(settings, project_dir)
