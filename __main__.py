"""An immutable web fleet: bake (or promote) an image, replace the fleet behind a load balancer, keep state outside.

    stack config ──► load_settings (config/: every key validated, every problem at once)
                 ──► deploy: the `cloud` setting picks the deployment (deployments/__init__.py)
                       digitalocean: deployments/digitalocean.py wires components/digitalocean/
                       with the neutral ImageBuild and HealthGate, and exports the outputs

This file only wires: it reads the settings once and hands them to the chosen cloud.
"""

from pathlib import Path

from config.reader import load_settings
from deployments import deploy

# The program's own folder: the images it bakes, and the content hashes that name them, are read from here.
deploy(load_settings(), project_dir=Path(__file__).resolve().parent)
