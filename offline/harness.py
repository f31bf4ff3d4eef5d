"""Run the real Pulumi program offline: the real `__main__.py`, the real stack files, Pulumi's mocks.

This is what the tests and the `plan` command stand on, in four parts:

- `offline.stack_config`: what the Pulumi CLI does before it starts a Python
  program (merge `Pulumi.yaml` defaults with `Pulumi.<stack>.yaml`, hand every
  value over as a string, mark secret keys; secure values become test secrets);
- `offline.mocks`: answers like DigitalOcean's, AWS's and pulumi-command's, from a
  table per cloud by type token (`offline.digitalocean_mocks`, `offline.aws_mocks`);
- `offline.recording`: every resource the program registers, with its type,
  name, parent, inputs (and which are secret), options and outputs;
- `offline.runner`: runs the program (or a test's body) under the mocks, and
  renders the user-data the VM tests boot with.

Mocked values are deterministic (derived from the resource's type and name),
so two runs of the same commit give identical records. Import from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from offline.digitalocean_mocks import MOCK_DATABASE_CA, MOCK_DB_PASSWORD_PREFIX
from offline.mocks import RealisticMocks
from offline.recording import ProviderError, RecordingMonitor, Resource, StackRun
from offline.runner import MAIN, aws_staging_user_data, run_program, run_under_mocks, staging_user_data
from offline.stack_config import PROJECT_DIR, STACK_FILE_KEYS, TEST_SECRET_PREFIX, harness_secret, list_stacks, project_file, stack_config, stack_file, stack_file_warnings

__all__: Sequence[str] = [
    "MAIN",
    "MOCK_DATABASE_CA",
    "MOCK_DB_PASSWORD_PREFIX",
    "PROJECT_DIR",
    "STACK_FILE_KEYS",
    "TEST_SECRET_PREFIX",
    "ProviderError",
    "RealisticMocks",
    "RecordingMonitor",
    "Resource",
    "StackRun",
    "aws_staging_user_data",
    "harness_secret",
    "list_stacks",
    "project_file",
    "run_program",
    "run_under_mocks",
    "stack_config",
    "stack_file",
    "stack_file_warnings",
    "staging_user_data",
]
