"""Project-wide web helpers every app's views share: request types, query parameters and what
input text may hold."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

# Characters no stored text may hold: PostgreSQL refuses NUL, XML 1.0 the other C0 controls
# but tab, LF and CR, and U+FFFE/U+FFFF. Input holding one is refused at the edge (the API's
# schemas, forms, keys and tokens in URLs) rather than failing in the database.
UNSTORABLE_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
UNSTORABLE = re.compile(f"[{UNSTORABLE_CHARS}]")


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware."""

    htmx: HtmxDetails


class AuthedRequest(HtmxHttpRequest):
    """A request behind `login_required`: the user is a real account."""

    user: User


def wants_partial(request: HtmxHttpRequest) -> bool:
    """An htmx request for a fragment; a history restore needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` parameter when it points at this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def int_param(request: HttpRequest, name: str, default: int = 0) -> int:
    """A non-negative integer query parameter, or `default` when absent or malformed."""
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdecimal() and len(value) < 12 else default


def date_param(request: HttpRequest, name: str) -> date | None:
    """An ISO date query parameter, or None."""
    try:
        return date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return None


def url_with(name: str, params: dict[str, Any], *, path: str = "") -> str:
    """`name`'s path (or `path`, if already reversed) with the non-empty `params`."""
    query = urlencode({k: v for k, v in params.items() if v not in ("", None)})
    return (path or reverse(name)) + (f"?{query}" if query else "")
