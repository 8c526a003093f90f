from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def preferences(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user's profile (or None) and the languages to switch between."""
    return {"profile": getattr(request, "profile", None), "LANGUAGES": settings.LANGUAGES}
