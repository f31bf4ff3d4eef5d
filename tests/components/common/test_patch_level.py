"""The patch level's file format: one UTC timestamp in snapshot.debian.org's form, comments allowed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from components.common.patch_level import PATCH_LEVEL_FILE, PatchLevelError, next_patch_level, parse_patch_level, read_patch_level
from offline.harness import PROJECT_DIR


def test_the_committed_level_is_one_valid_timestamp():
    level = read_patch_level(PROJECT_DIR)
    assert datetime.strptime(level, "%Y%m%dT%H%M%SZ").year >= 2025


def test_comments_and_blank_lines_are_ignored():
    assert parse_patch_level("# why\n\n  20261207T101500Z  \n# more\n") == "20261207T101500Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "found 0 non-comment lines"),
        ("# only a comment\n", "found 0 non-comment lines"),
        ("20261207T000000Z\n20261208T000000Z\n", "found 2 non-comment lines"),
        ("2026-12-07\n", "got '2026-12-07'"),
        ("20261207t000000z\n", "got '20261207t000000z'"),
        ("20261207T000000Z\u200b\n", "got '20261207T000000Z\\u200b'"),
        ("20260230T000000Z\n", "is not a real date and time"),
        ("20261207T246000Z\n", "is not a real date and time"),
        ("20201207T000000Z\n", "before Debian 13 was released"),
    ],
)
def test_a_malformed_level_names_the_file_and_the_form(text, message):
    with pytest.raises(PatchLevelError) as error:
        parse_patch_level(text)
    assert str(error.value).startswith(f"{PATCH_LEVEL_FILE}: ") and message in str(error.value)
    assert "YYYYMMDDTHHMMSSZ" in str(error.value)


def test_a_missing_file_says_what_it_holds(tmp_path):
    with pytest.raises(PatchLevelError, match=r"images/base/patch-level: cannot be read .* the base image's patch level"):
        read_patch_level(tmp_path)


def test_the_next_level_is_now_in_utc_to_the_second():
    moment = datetime(2026, 12, 14, 3, 4, 5, 900000, tzinfo=timezone(timedelta(hours=2)))
    assert next_patch_level(moment) == "20261214T010405Z"
    assert parse_patch_level(next_patch_level(moment)) == "20261214T010405Z"
