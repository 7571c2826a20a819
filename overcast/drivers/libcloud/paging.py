"""Every page of an OpenStack list, as its services page them: ``<key>_links`` with a ``next``
link whose ``marker`` is the last item (Nova, Cinder, Neutron). libcloud's OpenStack driver
follows pages for some lists only (``list_nodes`` on 2.x, Glance's images), so the libcloud
OpenStack families list through this."""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

#: a guard against a provider whose next link never ends (libcloud's own pager has one too)
MAX_PAGES = 100_000


def every_page(fetch: Callable[[dict[str, Any]], Any], key: str, params: dict[str, Any],
               page_size: int | None) -> list[dict[str, Any]]:
    """``fetch(params)`` answers one page (a JSON object); the items under ``key`` of every page.
    ``page_size`` None asks for one page only (the service's default size)."""
    params = dict(params)
    if page_size is not None:
        params["limit"] = str(page_size)
    out: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        answer = fetch(params)
        out += answer.get(key) or []
        following = [link["href"] for link in answer.get(f"{key}_links") or () if link.get("rel") == "next"]
        marker = parse_qs(urlsplit(following[0]).query).get("marker") if following else None
        if page_size is None or not marker or marker[0] == params.get("marker"):
            break
        params["marker"] = marker[0]
    return out
