"""The pure checks behind the stack config: credentials in env, SSH CIDRs, DNS record names."""

from __future__ import annotations

import pytest

from config.digitalocean import TAG_PATTERN
from config.rules import cidr_problems, dns_record_problem, env_credential_problem


@pytest.mark.parametrize(
    ("entry", "refused"),
    [
        # Credentials by name: a token of the name (split on _) says so.
        ("STRIPE_API_KEY=sk_live_x", True),
        ("DB_PASS=hunter2", True),
        ("DB_PASSWD=hunter2", True),
        ("SMTP_PASSWORD=hunter2", True),
        ("SESSION_SECRET=s3cr3t-value", True),
        ("GITHUB_TOKEN=s3cr3t-value", True),
        ("MAPS_APIKEY=s3cr3t-value", True),
        ("GOOGLE_APPLICATION_CREDENTIALS=/etc/x.json", True),
        ("TLS_PRIVATE_KEY=s3cr3t-value", True),
        ("SENTRY_DSN=https://public@o1.ingest.sentry.io/1", True),
        ("BASIC_AUTH=user:pw", True),
        # Credentials by value: a URL with userinfo.
        ("SENTRY_ENDPOINT=https://key@sentry.example.com/1", True),
        ("UPSTREAM_URL=https://user:pw@api.example.com/v1", True),
        ("CACHE_URLS=redis://cache-1:6379,redis://:pw@cache-2:6379", True),
        # Not credentials: a token merely containing KEY or PASS, or a URL without userinfo.
        ("DATABASE_POOL_SIZE=10", False),
        ("LOG_LEVEL=info", False),
        ("KEYBOARD_LAYOUT=us", False),
        ("PASSENGER_LIMIT=4", False),
        ("AUTHOR_NAME=someone", False),
        ("FEATURE_NEW_CHECKOUT=true", False),
        ("UPSTREAM_URL=https://api.example.com/v1/@me", False),
        ("CONTACT=mailto:ops@example.com", False),
    ],
)
def test_env_credentials_are_recognised_by_name_token_or_url_userinfo(entry, refused):
    name, _, value = entry.partition("=")
    problem = env_credential_problem(name, value)
    assert (problem is not None) == refused, f"{entry}: {problem}"
    if problem is not None:
        assert name in problem and value not in problem, "the message names the variable, never its value"


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["0.0.0.0/1", "128.0.0.0/1"], "together open SSH to the whole internet (0.0.0.0/0)"),
        (["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"], "together open SSH to the whole internet (0.0.0.0/0)"),
        (["::/1", "8000::/1"], "together open SSH to the whole internet (::/0)"),
        (["0.0.0.0/0"], "opens SSH to the whole internet"),
        (["10.0.0.1/24"], "'10.0.0.1/24' has host bits set; did you mean 10.0.0.0/24 (or 10.0.0.1/32 for the one address)?"),
        (["2001:db8::1/64"], "did you mean 2001:db8::/64"),
        (["nonsense"], "'nonsense' is not a CIDR block like 203.0.113.7/32"),
    ],
)
def test_ssh_cidrs_that_open_the_internet_or_have_host_bits_are_refused(entries, expected):
    _, problems = cidr_problems(entries)
    assert any(expected in p for p in problems), problems


def test_operator_cidrs_are_accepted_in_canonical_form():
    cidrs, problems = cidr_problems(["203.0.113.7/32", "198.51.100.0/24", "128.0.0.0/1", "2001:db8::/32"])
    assert problems == []
    assert cidrs == ("203.0.113.7/32", "198.51.100.0/24", "128.0.0.0/1", "2001:db8::/32")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("www", None),
        ("@", None),
        ("api.eu", None),
        ("notexample.com", None),
        ("www.example.com", "set dnsRecord to 'www'"),
        ("example.com", "set dnsRecord to '@'"),
    ],
)
def test_a_record_name_must_not_repeat_the_domain(record, problem):
    found = dns_record_problem(record, "example.com")
    assert found == problem if problem is None else problem in (found or ""), found


@pytest.mark.parametrize(("tag", "valid"), [("team:web", True), ("cost_center-42", True), ("team.web", False), ("has space", False), ("x" * 256, False)])
def test_tags_are_what_digitalocean_accepts(tag, valid):
    assert bool(TAG_PATTERN.match(tag)) == valid
