"""The README's configuration table says what `Pulumi.yaml` says: a default is written there once, and copied here only under this test."""

from __future__ import annotations

from pathlib import Path

from config.declarations import declarations
from config.reader import REQUIRED_KEYS

README = Path(__file__).resolve().parents[1] / "README.md"
# How the table shows a default that is the empty string: no value, or what the program puts in its place.
EMPTY = {"", "none", "appName"}


def configuration_table() -> dict[str, str]:
    """Each key in the README's `| key | default | |` table, with the default it shows."""
    lines = README.read_text().split("| key | default | |\n|---|---|---|\n", 1)[1].split("\n\n", 1)[0].splitlines()
    shown: dict[str, str] = {}
    for line in lines:
        keys_cell, defaults_cell = line.split("|")[1:3]
        keys = [key.strip(" `") for key in keys_cell.split(",")]
        defaults = [default.strip(" `") for default in defaults_cell.split(", ")] if len(keys) > 1 else [defaults_cell.strip(" `")]
        assert len(keys) == len(defaults), f"README row {keys_cell.strip()}: {len(keys)} keys, {len(defaults)} defaults"
        shown.update(zip(keys, defaults, strict=True))
    return shown


def test_the_readme_shows_every_key_with_its_pulumi_yaml_default():
    shown = configuration_table()
    declared = declarations()
    assert set(shown) == set(declared), "the README's table and Pulumi.yaml list different keys"
    for key, default in shown.items():
        expected = declared[key].default
        if expected is None:
            assert default.startswith("(required"), f"{key}: required in Pulumi.yaml, the README shows {default!r}"
        elif expected == "" and key in REQUIRED_KEYS:
            assert default.startswith("(required"), f"{key}: required by the program (empty only so it reports it), the README shows {default!r}"
        elif expected == "":
            assert default in EMPTY, f"{key}: empty by default in Pulumi.yaml, the README shows {default!r}"
        else:
            assert default == expected, f"{key}: Pulumi.yaml says {expected!r}, the README shows {default!r}"
