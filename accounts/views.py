"""Language switching and the settings page."""

from __future__ import annotations

import copy
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from academichub.web import safe_next
from accounts.forms import ProfileForm
from accounts.selectors import suppression_of
from accounts.services import profile_update, request_profile


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: the profile for users, a cookie for everyone."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if request.user.is_authenticated:
        profile_update(profile=request_profile(request), language=language)
    response = HttpResponseRedirect(safe_next(request, "/"))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@require_http_methods(["GET", "POST"])
@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own preferences; there is no way to name anyone else's."""
    profile = request_profile(request)
    if request.method == "POST":
        # A ModelForm writes onto its instance while validating; give it a copy so a
        # rejected form leaves the request's profile (and the language cookie) untouched.
        form = ProfileForm(request.POST, instance=copy.copy(profile))
        if form.is_valid():
            profile_update(
                profile=profile, **{name: form.cleaned_data[name] for name in form.fields}
            )
            # Say it in the language just chosen: that is what the next page will speak.
            with translation.override(profile.language):
                messages.success(request, gettext("Your settings were saved."))
            return redirect(reverse("accounts:settings"))
    else:
        form = ProfileForm(instance=profile)
    zone = zoneinfo.ZoneInfo(profile.timezone)
    return render(
        request,
        "accounts/settings.html",
        {
            "form": form,
            "profile": profile,
            "zone_name": str(zone),
            "local_now": timezone.localtime(timezone.now(), zone),
            # A hard bounce or spam complaint stopped mail to the address (digests.bounces).
            "suppression": suppression_of(getattr(request.user, "email", "")),
        },
    )
