"""`plan`: see what a stack would create, and what a change would do, with no cloud account.

    plan --stack staging                  the resource tree, key inputs, options, cloud-init, outputs
    plan --stack staging --json           the same as a stable JSON document
    plan diff OLD.json NEW.json           what would be created, updated, replaced or deleted, and why
    plan --stack staging --against main   the same diff against another git revision of this repo

It runs the real program under Pulumi's mocks (offline.harness) with the
stack's real config; secrets are masked everywhere. Mocked ids and addresses
are deterministic, so the same commit always prints the same plan.

One module a job: document (build and check the JSON document), render (print
one plan), waves (the rollout order), diff (compare two), costs (capacity and
list prices), report (print a diff), cli (the command line).
"""

from offline.plan.cli import main, plan_at_revision
from offline.plan.diff import Change, diff_plans
from offline.plan.document import MASK, SCHEMA, build_plan, plan_document
from offline.plan.render import render_text
from offline.plan.report import Labels, render_diff

__all__ = ["MASK", "SCHEMA", "Change", "Labels", "build_plan", "diff_plans", "main", "plan_at_revision", "plan_document", "render_diff", "render_text"]
