"""Language switching and the settings page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.services import profile_for


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: the profile for users, a cookie for everyone."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if request.user.is_authenticated:
        profile = profile_for(request.user)
        profile.language = language
        profile.save(update_fields=["language"])
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    """The user's preferences (being built)."""
    return render(request, "accounts/settings.html", {"profile": profile_for(request.user)})
