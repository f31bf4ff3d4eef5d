"""The `plan` command line. Usage and input errors print one line and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from offline.plan.document import NotAPlan, build_plan, check_document
from offline.plan.render import render_text
from offline.plan.report import Labels, render_diff

USAGE_ERROR = 2


class UsageError(Exception):
    """A wrong command line or input the user can fix: printed as one line, exit 2."""


def _fail_message(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no message)"


def revision_label(revision: str) -> str:
    """``main (3f2a1b9c0d1e)``: the revision as given and the commit it names, for the diff's header."""
    from offline.stack_config import PROJECT_DIR

    commit = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "--short=12", "--verify", "--quiet", f"{revision}^{{commit}}"], capture_output=True, text=True, timeout=60)
    if commit.returncode != 0 or not commit.stdout.strip():
        return revision
    return revision if commit.stdout.strip() == revision else f"{revision} ({commit.stdout.strip()})"


def plan_at_revision(stack: str, revision: str) -> dict[str, Any]:
    """Build the plan of another git revision of this repository, in a throw-away worktree."""
    from offline.stack_config import PROJECT_DIR

    workdir = Path(tempfile.mkdtemp(prefix="plan-against-"))
    tree = workdir / "tree"
    try:
        added = subprocess.run(["git", "-C", str(PROJECT_DIR), "worktree", "add", "--detach", str(tree), revision], capture_output=True, text=True, timeout=120)
        if added.returncode != 0:
            raise UsageError(f"--against {revision}: {_fail_message(added.stderr)}")
        missing = [name for name in ("Pulumi.yaml", "__main__.py") if not (tree / name).exists()]
        if missing:
            raise UsageError(f"--against {revision}: that revision has no {' or '.join(missing)}; it predates the program")
        if not (tree / "offline" / "plan.py").exists() and not (tree / "offline" / "plan").is_dir():
            raise UsageError(f"--against {revision}: that revision has no offline/plan; it predates the plan command")
        result = subprocess.run(
            [sys.executable, "-m", "offline.plan", "--stack", stack, "--json"],
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "PYTHONPATH": str(tree)},
        )
        if result.returncode != 0:
            raise UsageError(f"--against {revision}: could not build its plan of stack {stack}: {_fail_message(result.stderr)}")
        try:
            return check_document(json.loads(result.stdout), f"the plan of {revision}")
        except (json.JSONDecodeError, NotAPlan) as error:
            raise UsageError(f"--against {revision}: {error}") from None
    finally:
        subprocess.run(["git", "-C", str(PROJECT_DIR), "worktree", "remove", "--force", str(tree)], capture_output=True, timeout=120)
        shutil.rmtree(workdir, ignore_errors=True)


def load_plan(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path} is not JSON ({error}); make a plan document with `plan --stack NAME --json`") from None
    try:
        return check_document(document, path)
    except NotAPlan as error:
        raise UsageError(str(error)) from None


def check_same_stack(old: dict[str, Any], new: dict[str, Any], old_name: str, new_name: str, across_stacks: bool) -> None:
    """Two plans of different stacks are no deploy's diff: refused, unless asked for (then the header says so)."""
    if old["stack"] != new["stack"] and not across_stacks:
        raise UsageError(f"{old_name} is a plan of stack {old['stack']} and {new_name} of stack {new['stack']}: a diff compares two plans of one stack (--across-stacks compares them anyway)")


def _diff_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="plan diff", description="What would change from one plan to another, in the order pulumi up would make the changes.")
    parser.add_argument("old", help="the plan before (plan --stack NAME --json)")
    parser.add_argument("new", help="the plan after")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table, for a pull-request comment or job summary")
    parser.add_argument("--across-stacks", action="store_true", help="compare plans of two different stacks (refused otherwise); the header says so")
    args = parser.parse_args(argv)
    old, new = load_plan(args.old), load_plan(args.new)
    check_same_stack(old, new, args.old, args.new, args.across_stacks)
    sys.stdout.write(render_diff(old, new, markdown=args.markdown, labels=Labels(args.old, args.new)))
    return 0


COMMANDS = """commands:
  plan [--stack NAME] [--json]                   one stack's plan, as text or as a JSON document
  plan [--stack NAME] --against REF [--markdown] the diff from the plan at git revision REF to this working tree's
  plan diff OLD.json NEW.json [--markdown] [--across-stacks]
                                                 the diff of two JSON plans (plan diff --help)"""


def _plan_command(argv: list[str], description: str) -> int:
    import pulumi

    from offline.harness import list_stacks, stack_file_warnings

    parser = argparse.ArgumentParser(prog="plan", description=description, epilog=COMMANDS, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="staging", help=f"stack to plan (default staging; here: {', '.join(list_stacks())})")
    parser.add_argument("--json", action="store_true", help="print the plan as a stable JSON document")
    parser.add_argument("--against", metavar="REF", help="print the diff from the plan at git revision REF to this working tree's")
    parser.add_argument("--markdown", action="store_true", help="with --against: the diff as a Markdown table")
    args = parser.parse_args(argv)
    if args.stack not in list_stacks():
        parser.error(f"unknown stack {args.stack!r}; stacks: {', '.join(list_stacks())}")
    if args.markdown and not args.against:
        parser.error("--markdown formats a diff: use it with --against REF, or with `plan diff OLD.json NEW.json`")
    if args.json and args.against:
        parser.error("--json prints one plan and --against prints a diff; for both plans as JSON, run `plan --json` at each revision")

    try:
        for warning in stack_file_warnings(args.stack):
            print(f"plan: warning: {warning}", file=sys.stderr)
        plan = build_plan(args.stack)
    except pulumi.RunError as error:  # a ConfigError, an image lookup that failed: the program's own clean errors
        raise UsageError(f"stack {args.stack}: {error}") from None
    if args.against:
        labels = Labels(f"{revision_label(args.against)}", "this working tree")
        sys.stdout.write(render_diff(plan_at_revision(args.stack, args.against), plan, markdown=args.markdown, labels=labels))
    elif args.json:
        sys.stdout.write(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(render_text(plan))
    return 0


def main(argv: list[str] | None = None) -> int:
    from offline.plan import __doc__ as description

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["diff"]:
            return _diff_command(argv[1:])
        return _plan_command(argv, (description or "").split("\n\n")[0])
    except UsageError as error:
        print(f"plan: {error}", file=sys.stderr)
        return USAGE_ERROR
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2), already printed
        return exit_.code if isinstance(exit_.code, int) else USAGE_ERROR
