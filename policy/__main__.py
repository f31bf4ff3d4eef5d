"""The immutable-web policy pack: `pulumi preview --policy-pack policy` (docs/day-two.md#the-policy-pack)."""

import sys
from pathlib import Path

# The rules import the program's own pure modules (naming, serving paths); the pack runs from policy/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policy.pack import POLICIES

PolicyPack(name="immutable-web", policies=list(POLICIES))
