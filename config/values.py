"""Raw config values (the strings the Pulumi CLI hands over) turned into typed ones, recording problems.

A ``Values`` never stops at the first bad value: each method records what is
wrong, worded for the key, and returns a stand-in so reading goes on; the
loader raises ``ConfigError`` with every problem at once. A key that is not
set falls back to its default declared in `Pulumi.yaml` (``config.declarations``);
a key declared without one is required.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping

import pulumi

from config.declarations import Declaration, declarations

PROJECT = "immutable-web"
# Characters no one-line config value may hold: C0 and C1 controls (a line break, a tab, an escape) and
# Unicode's line and paragraph separators. A line break in a value makes a second line in an env file.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Keys whose values are several lines by nature (PEM certificates).
MULTILINE_KEYS = frozenset({"logDestinationCa"})


class ConfigError(pulumi.RunError):
    """One or more stack config values are wrong; the message lists every problem.

    A ``pulumi.RunError``: the Pulumi CLI prints its message alone, with no
    "Program failed with an unhandled exception" and no traceback.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


class Values:
    """This project's raw values by short key, read as typed values; ``problems`` lists what is wrong."""

    def __init__(self, raw: Mapping[str, str], declared: Mapping[str, Declaration] | None = None, *, secret: Collection[str] = ()):
        self.raw_values = raw
        self.declared = declarations() if declared is None else declared
        # Short keys set with --secret (or declared secret): their values are never echoed in a problem.
        self.secret = frozenset(secret) | {key for key, declaration in self.declared.items() if declaration.secret}
        self.problems: list[str] = []
        # Each key read and the type it was read as: a test holds them to Pulumi.yaml's declarations.
        self.read: dict[str, str] = {}

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{PROJECT}:{key}: {message}")

    def shown(self, key: str, value: str) -> str:
        """``value`` as a problem may quote it: never a secret's."""
        return "(a secret value, not shown)" if key in self.secret else repr(value)

    def raw(self, key: str, type_: str = "string") -> str | None:
        """The value as handed over, else the declared default; an empty string is no value."""
        self.read[key] = type_
        value = self.raw_values.get(key)
        if value is None and key in self.declared:
            value = self.declared[key].default
        return None if value is None or value == "" else value

    def is_set(self, key: str) -> bool:
        """The stack sets ``key`` to something other than its declared default (the CLI hands over defaults too)."""
        value = self.raw_values.get(key)
        default = self.declared[key].default if key in self.declared else None
        return value not in (None, "", default)

    def _missing(self, key: str) -> None:
        if key in self.declared and self.declared[key].default is None:
            self.problem(key, f"is required; set it with `pulumi config set {key} <value>`")

    def optional(self, key: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        value = self.raw(key)
        if value is None:
            return None
        if key not in MULTILINE_KEYS and CONTROL_CHARACTERS.search(value):
            # A YAML block scalar (`key: |`) ends in a line break: the value would carry it into names and files.
            self.problem(key, f"must be one line without control characters (a line break, a tab); got {self.shown(key, value)}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(key, f"must be {what}; got {self.shown(key, value)}")
        return value

    def text(self, key: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
        value = self.optional(key, pattern, what)
        if value is None:
            self._missing(key)
        return value or ""

    def integer(self, key: str, *, low: int, high: int) -> int:
        raw = self.raw(key, "integer")
        if raw is None:
            self._missing(key)
            return low
        try:
            value = int(raw)
        except ValueError:
            self.problem(key, f"must be a whole number from {low} to {high}, got {self.shown(key, raw)}")
            return low
        if not low <= value <= high:
            self.problem(key, f"must be from {low} to {high}, got {value}")
        return value

    def boolean(self, key: str) -> bool:
        raw = self.raw(key, "boolean")
        if raw is None:
            self._missing(key)
            return False
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        self.problem(key, f"must be true or false, got {self.shown(key, raw)}")
        return False

    def array(self, key: str) -> list[str]:
        raw = self.raw(key, "array")
        if raw is None:
            return []
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            self.problem(key, f"must be a list of strings, got {self.shown(key, raw)}")
            return []
        if isinstance(value, dict):
            self.problem(key, f"must be a list of strings, not a mapping: write each entry as a YAML list item (`- {'NAME=value' if key == 'env' else 'entry'}`)")
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(key, "must be a list of strings (YAML list items `- entry`, each a string)")
            return []
        for index, item in enumerate(value):
            if CONTROL_CHARACTERS.search(item):
                self.problem(key, f"entry {index + 1} holds a control character (a line break, a tab); each entry must be one line")
                return []
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        """One of ``allowed``; a stand-in (the first) when it is not."""
        value = self.text(key)
        if value and value not in allowed:
            self.problem(key, f"must be one of {', '.join(allowed)}; got {self.shown(key, value)}{did_you_mean(value, allowed)}")
        return value if value in allowed else allowed[0]

    def check_each(self, key: str, items: list[str], pattern: re.Pattern[str], what: str) -> None:
        for item in items:
            if not pattern.fullmatch(item):
                self.problem(key, f"{item!r} {what}")


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """ "; did you mean X?" for the closest of ``choices`` (a typo), or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6) or difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
    if not close:
        return ""
    original = next((choice for choice in choices if choice.lower() == close[0].lower()), close[0])
    return f"; did you mean {original}?"
