"""The user documents: the configuration table says what `Pulumi.yaml` says (a default is written there once, and copied into
docs/configuration.md only under this test); the README stays a short front door; no user document names a commit."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from config.declarations import declarations
from config.reader import REQUIRED_KEYS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"
USER_DOCUMENTS = [README, ROOT / "images" / "README.md", ROOT / "benchmarks" / "RESULTS.md", *sorted((ROOT / "docs").glob("*.md"))]
# About 150 lines: what a newcomer reads first. Design notes go to docs/, figures to benchmarks/RESULTS.md.
README_MAX_LINES = 170
README_MAX_LINE_LENGTH = 200
# How the table shows a default that is the empty string: no value, or what the program puts in its place.
EMPTY = {"", "none", "appName"}


def configuration_table() -> dict[str, str]:
    """Each key in docs/configuration.md's `| key | default | |` table, with the default it shows."""
    lines = CONFIGURATION.read_text().split("| key | default | |\n|---|---|---|\n", 1)[1].split("\n\n", 1)[0].splitlines()
    shown: dict[str, str] = {}
    for line in lines:
        keys_cell, defaults_cell = line.split("|")[1:3]
        keys = [key.strip(" `") for key in keys_cell.split(",")]
        defaults = [default.strip(" `") for default in defaults_cell.split(", ")] if len(keys) > 1 else [defaults_cell.strip(" `")]
        assert len(keys) == len(defaults), f"configuration.md row {keys_cell.strip()}: {len(keys)} keys, {len(defaults)} defaults"
        shown.update(zip(keys, defaults, strict=True))
    return shown


def test_the_configuration_page_shows_every_key_with_its_pulumi_yaml_default():
    shown = configuration_table()
    declared = declarations()
    assert set(shown) == set(declared), "docs/configuration.md's table and Pulumi.yaml list different keys"
    for key, default in shown.items():
        expected = declared[key].default
        if expected is None:
            assert default.startswith("(required"), f"{key}: required in Pulumi.yaml, configuration.md shows {default!r}"
        elif expected == "" and key in REQUIRED_KEYS:
            assert default.startswith("(required"), f"{key}: required by the program (empty only so it reports it), configuration.md shows {default!r}"
        elif expected == "":
            assert default in EMPTY, f"{key}: empty by default in Pulumi.yaml, configuration.md shows {default!r}"
        else:
            assert default == expected, f"{key}: Pulumi.yaml says {expected!r}, configuration.md shows {default!r}"


def test_the_readme_names_the_minimum_pulumi_version_that_bootstrap_pulumi_holds_an_install_to():
    """One minimum, checked by running it (tests/engine): scripts/bootstrap-pulumi's, which the README repeats."""
    script = (ROOT / "scripts" / "bootstrap-pulumi").read_text()
    minimum = re.search(r'^minimum="([0-9.]+)"', script, re.M)
    assert minimum is not None
    assert f"Pulumi CLI](https://www.pulumi.com/docs/iac/download-install/) **{minimum.group(1)} or newer**" in README.read_text()


def test_the_readme_is_a_short_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines: move design notes to docs/, figures to benchmarks/RESULTS.md"
    long = [number for number, line in enumerate(lines, 1) if len(line) > README_MAX_LINE_LENGTH]
    assert not long, f"README.md lines longer than {README_MAX_LINE_LENGTH} characters: {long}"
    assert lines[:5] == ["# immutable-web", "", "```sh", "./scripts/plan --stack staging", "./scripts/test"], "the two commands come first"


def commits_named(text: str) -> set[str]:
    """The 7-40 hex-digit words in text that git knows as commits of this repository."""
    candidates = sorted(set(re.findall(r"\b[0-9a-f]{7,40}\b", text)))
    if not candidates:
        return set()
    found = subprocess.run(["git", "cat-file", "--batch-check"], cwd=ROOT, input="".join(f"{word}^{{commit}}\n" for word in candidates), capture_output=True, text=True, check=True)
    return {word for word, answer in zip(candidates, found.stdout.splitlines(), strict=True) if not answer.endswith("missing") and " commit " in answer}


def test_no_user_document_names_a_commit():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no commits to name")
    named = {str(path.relative_to(ROOT)): sorted(commits_named(path.read_text())) for path in USER_DOCUMENTS if path.exists()}
    assert not {path: words for path, words in named.items() if words}, "user documents name commits (say what is true now instead)"


def test_commits_named_finds_a_commit_id():
    """The check above is not vacuous: the current commit's id, short or full, is found."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert commits_named(f"see {head[:7]} and {head}, not cafe123") >= {head[:7], head}
