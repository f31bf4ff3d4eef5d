"""The one place the cloud is chosen: the stack's `cloud` setting picks its deployment here.

Each deployment wires one cloud's components (components/<cloud>/) with the
neutral ones (ImageBuild, HealthGate) from the validated settings. The config
refuses a cloud with no deployment (today: aws) before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from config.reader import StackSettings
from config.shared import Cloud
from deployments import digitalocean

DEPLOYMENTS: Mapping[Cloud, Callable[[StackSettings, Path], None]] = {
    Cloud.DIGITALOCEAN: digitalocean.deploy,
}


def deploy(settings: StackSettings, *, project_dir: Path) -> None:
    """Create the stack's resources on its cloud and export its outputs; ``project_dir`` holds the program and its images."""
    DEPLOYMENTS[settings.cloud](settings, project_dir)
