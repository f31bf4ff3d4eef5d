"""The app's session cookie (images/webapp/sessions.py): any server with the same APP_SECRET reads it, nothing else does.

Each server is a real app process; a "client" here is the cookie carried from one response to the
next request, possibly to another server, as a browser behind a load balancer without stickiness.
"""

from __future__ import annotations

import base64

import pytest
from conftest import require_tools
from postgres import LocalPostgres, available
from webapp_process import RunningApp, has_system_modules, request

pytestmark = require_tools(present={"postgresql": available(), "python3-psycopg2 python3-alembic python3-cryptography": has_system_modules("psycopg2", "alembic", "cryptography")})

COOKIE = "webapp_session"


@pytest.fixture(scope="module")
def postgres():
    with LocalPostgres() as server:
        yield server


def visit(app: RunningApp, cookie: str | None = None, **headers: str) -> tuple[int, int | None, str | None, str]:
    """GET / with this cookie: (status, the session's visit count, the new cookie's value, the whole Set-Cookie)."""
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    status, body, response_headers = request(app.url + "/", headers)
    set_cookie = response_headers.get("Set-Cookie", "")
    value = set_cookie.split(";", 1)[0].removeprefix(f"{COOKIE}=") if set_cookie.startswith(f"{COOKIE}=") else None
    return status, body.get("session_visits"), value, set_cookie


def test_a_cookie_made_by_one_server_is_read_by_another_with_the_same_secret(postgres):
    with RunningApp(postgres, APP_VERSION="1.4.2") as first, RunningApp(postgres, APP_VERSION="1.5.0") as second:
        _, visits, cookie, _ = visit(first)
        assert visits == 1 and cookie
        _, visits, cookie, _ = visit(second, cookie)
        assert visits == 2
        _, visits, _, _ = visit(first, cookie)
    assert visits == 3


def test_tampered_foreign_and_malformed_cookies_start_a_new_session_never_an_error(postgres):
    with RunningApp(postgres) as app, RunningApp(postgres, APP_SECRET="another-stacks-secret") as other:
        _, _, cookie, _ = visit(app)
        _, _, foreign, _ = visit(other)
        raw = bytearray(base64.urlsafe_b64decode(cookie))
        raw[-40] ^= 0x01  # one bit of the ciphertext: the HMAC no longer matches
        tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
        for bad in (tampered, foreign, "not-a-token", "", "x" * 5000, '"unbalanced', "%00%ff"):
            status, visits, new_cookie, _ = visit(app, bad)
            assert status == 200 and visits == 1 and new_cookie, bad[:40]
        status, body, _ = request(app.url + "/", {"Cookie": "=;;; ;=; webapp_session"})
        assert status == 200 and body["session_visits"] == 1
        # ... and the genuine cookie still works after all that.
        assert visit(app, cookie)[1] == 2


def test_the_previous_secret_is_read_during_the_grace_period_and_new_cookies_use_the_new_one(postgres):
    with RunningApp(postgres, APP_SECRET="old-secret") as before:
        _, _, old_cookie, _ = visit(before)
    with RunningApp(postgres, APP_SECRET="new-secret", APP_SECRET_PREVIOUS="old-secret") as rotated:
        _, visits, new_cookie, _ = visit(rotated, old_cookie)
    assert visits == 2, "the session survives the rotation"
    with RunningApp(postgres, APP_SECRET="new-secret") as after_grace:
        assert visit(after_grace, new_cookie)[1] == 3, "re-made with the new secret"
        assert visit(after_grace, old_cookie)[1] == 1, "once the grace period is over, the old secret's cookies start over"


def test_the_cookie_is_http_only_same_site_and_secure_behind_https(postgres):
    with RunningApp(postgres) as app:
        _, _, _, plain = visit(app)
        _, _, _, behind_https = visit(app, **{"X-Forwarded-Proto": "https"})
    attributes = [part.strip() for part in plain.split(";")]
    assert {"Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=2592000"} <= set(attributes) and "Secure" not in attributes, plain
    assert "Secure" in [part.strip() for part in behind_https.split(";")], behind_https


def test_without_a_secret_there_is_no_session_cookie(postgres):
    with RunningApp(postgres, APP_SECRET="") as app:
        status, visits, cookie, set_cookie = visit(app)
    assert status == 200 and visits is None and cookie is None and not set_cookie
