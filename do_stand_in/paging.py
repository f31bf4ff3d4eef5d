"""DigitalOcean's list answers: a page of items, ``links.pages`` to the others, ``meta.total``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from do_stand_in.errors import bad_request
from do_stand_in.router import Request

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200


def page(request: Request, key: str, items: list[Any]) -> tuple[int, dict[str, Any]]:
    try:
        number = max(int(request.query.get("page", "1")), 1)
        per_page = min(max(int(request.query.get("per_page", str(DEFAULT_PER_PAGE))), 1), MAX_PER_PAGE)
    except ValueError:
        raise bad_request("page and per_page must be integers.") from None
    last = max((len(items) + per_page - 1) // per_page, 1)

    def link(number: int) -> str:
        return f"{request.base_url}{request.path}?{urlencode({**request.query, 'page': number, 'per_page': per_page})}"

    pages: dict[str, str] = {}
    if number > 1:
        pages.update(first=link(1), prev=link(number - 1))
    if number < last:
        pages.update(next=link(number + 1), last=link(last))
    start = (number - 1) * per_page
    return 200, {key: items[start : start + per_page], "links": {"pages": pages}, "meta": {"total": len(items)}}
