"""Apply a signed-in user's language and time zone to every request."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from accounts.services import profile_for

# Set by static/js/site.js to the browser's IANA zone ("Europe/Berlin").
TIME_ZONE_COOKIE = "tz"


class UserPreferencesMiddleware:
    """After authentication: the profile's language wins over the cookie, and is remembered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        # A first visit after sign-up keeps the language the visitor chose before, and takes
        # the time zone their browser reported (the `tz` cookie `static/js/site.js` sets).
        profile = profile_for(
            user,
            language=getattr(request, "LANGUAGE_CODE", None),
            timezone=request.COOKIES.get(TIME_ZONE_COOKIE),
        )
        request.profile = profile  # type: ignore[attr-defined]
        translation.activate(profile.language)
        request.LANGUAGE_CODE = profile.language
        timezone.activate(zoneinfo.ZoneInfo(profile.timezone))
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
        if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != profile.language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                profile.language,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
