"""The real Pulumi CLI on the project's stack files: what it accepts and refuses, against the offline harness.

The CLI reads the stack file and checks the configuration against `Pulumi.yaml`'s declarations before
it starts the program (pkg/workspace/config.go, ``mergeConfig``): a missing required key, a declared
secret in plain text, a value of the wrong declared type. The offline harness (``offline.stack_config``)
stands in for what the CLI hands the program; where the two disagree the CLI is right.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from engine.conftest import NO_LANGUAGE_HOST, Workspace

import offline.stack_config as stack_config_module
from config.declarations import as_config_string
from config.reader import load_settings
from config.values import ConfigError
from offline.harness import stack_file_warnings
from offline.stack_config import OPERATOR_SECRETS

ACCEPTED = None  # the CLI's verdict: every check passed, the run went on to start the program
# How the CLI words a refusal of the stack file or its configuration (pkg/cmd/pulumi: config/io.go, operations/preview.go).
CONFIG_ERRORS = ("error: getting stack configuration:", "error: validating stack config:", "could not read stack configuration")

Edit = Callable[[str], str]


def append(lines: str) -> Edit:
    return lambda text: text + lines


def in_config(lines: str) -> Edit:
    """The stack file with ``lines`` first under ``config:`` (the CLI writes ``encryptionsalt:`` after it)."""
    return lambda text: text.replace("config:\n", "config:\n" + lines, 1)


def config_line(key: str, replacement: str) -> Edit:
    """The stack file with the line of ``key`` (under ``config:``) replaced; "" removes it."""
    return lambda text: re.sub(rf"^  immutable-web:{key}:.*\n", replacement, text, count=1, flags=re.M)


# name: (edit of the CLI-written staging file, the CLI's verdict (a fragment of its error, or ACCEPTED),
#        the offline verdict: a fragment of the harness's or the program's refusal, or ACCEPTED)
CASES: dict[str, tuple[Edit, str | None, str | None]] = {
    "as-written": (lambda text: text, ACCEPTED, ACCEPTED),
    # The file itself: the CLI and the harness both refuse it before any key is read.
    "config-is-a-list": (lambda text: "config:\n  - immutable-web:region: nyc3\n", "cannot unmarshal !!seq", "`config` must be a mapping"),
    "file-is-a-list": (lambda text: "- " + text.replace("\n", "\n  "), "expected project to be an object", "must be a mapping with a `config:` section"),
    "yaml-syntax": (config_line("region", "  immutable-web:region: [nyc3\n"), "invalid YAML file", "is not valid YAML"),
    "duplicate-key": (in_config("  immutable-web:region: ams3\n"), 'mapping key "immutable-web:region" already defined', "key 'immutable-web:region' is given twice"),
    "number-key": (in_config("  123: nyc3\n"), "could not parse 123 as a configuration key", "config keys must be names like"),
    # Top-level keys the CLI does not know: it ignores them (the harness warns, stack_file_warnings).
    "top-level-typo": (append("confg:\n  immutable-web:region: ams3\n"), ACCEPTED, ACCEPTED),
    "secretsprovider-typo": (lambda text: "secretprovider: passphrase\n" + text, ACCEPTED, ACCEPTED),
    # Declared keys. Every key has a default and none is declared secret (Pulumi.yaml says why: the CLI would
    # stop at the first such problem alone), so a missing or plain-text appVersion/appSecret passes the CLI
    # and the program reports it, with every other problem and the command that fixes it.
    "missing-required": (config_line("appVersion", ""), ACCEPTED, "immutable-web:appVersion: is required"),
    "plain-secret": (
        lambda text: re.sub(r"  immutable-web:appSecret:\n    secure: .*\n", "  immutable-web:appSecret: hunter2-hunter2-hunter2-hunter2-hunter2\n", text),
        ACCEPTED,
        "immutable-web:appSecret: is in plain text",
    ),
    # The declared types are the CLI's to check, and it names the key; the program names it offline.
    "integer-word": (config_line("fleetCount", '  immutable-web:fleetCount: "two"\n'), "key 'fleetCount' must be of type 'integer'", "immutable-web:fleetCount:"),
    "integer-fraction": (config_line("fleetCount", "  immutable-web:fleetCount: 2.5\n"), "key 'fleetCount' must be of type 'integer'", "immutable-web:fleetCount:"),
    "boolean-word": (config_line("dbProtect", '  immutable-web:dbProtect: "maybe"\n'), "key 'dbProtect' must be of type 'boolean'", "immutable-web:dbProtect:"),
    "list-for-string": (config_line("region", "  immutable-web:region: [nyc3]\n"), "key 'region' must be of type 'string'", "immutable-web:region:"),
    "string-for-list": (lambda text: re.sub(r"  immutable-web:tags:\n(    .*\n)+", "  immutable-web:tags: team:web\n", text), "key 'tags' must be of type 'array<string>'", "immutable-web:tags:"),
    "map-for-list": (lambda text: re.sub(r"  immutable-web:tags:\n(    .*\n)+", "  immutable-web:tags:\n    team: web\n", text), "key 'tags' must be of type 'array<string>'", "immutable-web:tags:"),
    # Accepted by both: a key without its namespace is the project's; a quoted integer is an integer.
    "bare-key": (config_line("region", "  region: ams3\n"), ACCEPTED, ACCEPTED),
    "quoted-integer": (config_line("fleetCount", '  immutable-web:fleetCount: "3"\n'), ACCEPTED, ACCEPTED),
    # The CLI passes what it does not declare; the program's own rules refuse it, naming the key.
    "unknown-key": (in_config("  immutable-web:regoin: ams3\n"), ACCEPTED, "immutable-web:regoin"),
    "out-of-range": (config_line("fleetCount", '  immutable-web:fleetCount: "0"\n'), ACCEPTED, "immutable-web:fleetCount: must be from 1 to 1000"),
}


def offline_verdict(project: Path, stack: str, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """What `plan` says of this stack file: the harness's reading of it, then the program's settings loader."""
    monkeypatch.setattr(stack_config_module, "PROJECT_DIR", project)
    try:
        config, secret_keys = stack_config_module.stack_config(stack)
        load_settings(config, stack=stack, secret_keys=secret_keys)
    except ConfigError as error:
        return "\n".join(error.problems)
    return ACCEPTED


def cli_verdict(workspace: Workspace, stack: str) -> str | None:
    """The CLI's refusal of the stack's configuration, or ACCEPTED when `pulumi preview` got past it."""
    result = workspace.pulumi("preview", "--stack", stack)
    output = result.stdout + result.stderr
    assert "panic" not in output and "goroutine" not in output, output
    if any(marker in output for marker in CONFIG_ERRORS):
        assert result.returncode != 0, output
        return output
    # Past the configuration: here the run stops at the language host the proxy does not serve (an
    # installed CLI with its plugins goes on to the program, and to a DigitalOcean API on a closed port).
    assert result.returncode == 0 or NO_LANGUAGE_HOST in output or workspace.has_language_host, output
    return ACCEPTED


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_cli_and_the_offline_harness_agree_on_a_stack_file(workspace, case, monkeypatch):
    edit, cli_expected, offline_expected = CASES[case]
    workspace.init("staging")
    stack = f"case-{case}"
    workspace.ok("stack", "init", stack)  # before the file is broken: `stack init` reads an existing file too
    workspace.stack_file(stack).write_text(edit(workspace.stack_file("staging").read_text()))

    cli = cli_verdict(workspace, stack)
    if cli_expected is ACCEPTED:
        assert cli is ACCEPTED, f"the CLI refused it:\n{cli}"
    else:
        assert cli is not ACCEPTED and cli_expected in cli, f"the CLI's verdict: {cli}"
    offline = offline_verdict(workspace.path, stack, monkeypatch)
    if offline_expected is ACCEPTED:
        assert offline is ACCEPTED, f"offline refused it:\n{offline}"
    else:
        assert offline is not ACCEPTED and offline_expected in offline, f"offline verdict: {offline}"
    # What the CLI refuses, offline refuses too (the reverse is the program's own rules, beyond the CLI's).
    assert cli is ACCEPTED or offline is not ACCEPTED
    assert "hunter2" not in (cli or "") + (offline or "")


def test_the_cli_reports_one_declared_key_problem_at_a_time(workspace):
    """The CLI stops at the first declared key that fails (in key order): why Pulumi.yaml declares no key
    required or secret, and leaves those checks to the program, which reports every problem at once."""
    workspace.init("staging")
    workspace.ok("stack", "init", "two-problems")
    text = config_line("fleetCount", '  immutable-web:fleetCount: "two"\n')(workspace.stack_file("staging").read_text())
    workspace.stack_file("two-problems").write_text(config_line("dbProtect", '  immutable-web:dbProtect: "maybe"\n')(text))
    output = cli_verdict(workspace, "two-problems")
    assert output is not ACCEPTED
    assert "key 'dbProtect' must be of type 'boolean'" in output and "fleetCount" not in output, output


def test_the_top_level_keys_the_cli_ignores_are_named_by_the_harness(workspace, monkeypatch):
    workspace.init("staging")
    path = workspace.stack_file("staging")
    path.write_text("secretprovider: passphrase\n" + path.read_text())
    monkeypatch.setattr(stack_config_module, "PROJECT_DIR", workspace.path)
    [warning] = stack_file_warnings("staging")
    assert warning.startswith("Pulumi.staging.yaml: the Pulumi CLI ignores the top-level key(s) secretprovider;"), warning


@pytest.mark.parametrize("stack", ["staging", "prod", "aws-staging", "aws-prod"])
def test_each_committed_stack_set_up_as_the_readme_says_passes_the_clis_checks(workspace, stack, monkeypatch):
    """`pulumi stack init` and `pulumi config set --secret` on the committed stack file: the CLI encrypts each
    secret in the file, the offline harness reads that file as it reads the committed one, and `pulumi preview`
    gets past every check of the configuration, to the language host."""
    committed = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    values = workspace.init(stack)
    written = workspace.stack_file(stack).read_text()
    document = yaml.safe_load(written)
    assert document["encryptionsalt"].startswith("v1:")
    for key, value in values.items():
        assert document["config"][f"immutable-web:{key}"]["secure"].startswith("v1:")
        assert workspace.ok("config", "get", key, "--stack", stack).strip() == value  # it decrypts to what was set
        for path in workspace.path.rglob("*"):
            assert not path.is_file() or value not in path.read_text(errors="replace"), f"{key} in plain text in {path}"
    # The CLI rewrites the file as it adds a secret: every value quoted (`fleetCount: "2"`), comments kept.
    assert {key: as_config_string(val) for key, val in document["config"].items() if key.split(":")[-1] not in values} == {key: as_config_string(val) for key, val in committed.items()}
    assert cli_verdict(workspace, stack) is ACCEPTED

    monkeypatch.setattr(stack_config_module, "PROJECT_DIR", workspace.path)
    config, secret_keys = stack_config_module.stack_config(stack)
    assert {f"immutable-web:{key}" for key in OPERATOR_SECRETS["aws" if stack.startswith("aws-") else "digitalocean"]} <= set(secret_keys)
    load_settings(config, stack=stack, secret_keys=secret_keys)


def test_the_cli_is_at_least_the_minimum_and_a_build_is_the_pinned_release(workspace):
    version = workspace.ok("version").strip().removeprefix("v")
    minimum = re.search(r'^minimum="([0-9.]+)"', (ROOT / "scripts" / "bootstrap-pulumi").read_text(), re.M)
    pinned = re.search(r"github.com/pulumi/pulumi/pkg/v3 v(\S+)", (ROOT / "toolchain" / "go.mod").read_text())
    assert minimum is not None and pinned is not None
    assert [int(part) for part in version.split(".")] >= [int(part) for part in minimum.group(1).split(".")], version
    if "immutable-web/pulumi/" in str(workspace.bin_dir):  # built by scripts/bootstrap-pulumi, not an installed CLI
        assert version == pinned.group(1), version
