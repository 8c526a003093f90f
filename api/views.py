"""The settings page for personal API tokens: list, create (shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from academichub.web import AuthedRequest
from api.forms import TokenCreateForm
from api.models import ApiToken
from api.tokens import MAX_TOKENS_PER_USER, TokenLimitReached, token_create, token_revoke


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: AuthedRequest) -> HttpResponse:
    """The user's tokens; a POST creates one and shows its secret on this response only."""
    form = TokenCreateForm(request.POST if request.method == "POST" else None)
    new_token: ApiToken | None = None
    new_secret = ""
    if form.is_bound and form.is_valid():
        try:
            new_token, new_secret = token_create(user=request.user, name=form.cleaned_data["name"])
        except TokenLimitReached:
            form.add_error(
                None,
                _("You have %(limit)d tokens already. Revoke one to make room.")
                % {"limit": MAX_TOKENS_PER_USER},
            )
        else:
            form = TokenCreateForm()
    tokens = ApiToken.objects.filter(user_id=request.user.pk).order_by("-created_at", "-id")
    response = render(
        request,
        "api/tokens.html",
        {"form": form, "tokens": tokens, "new_token": new_token, "new_secret": new_secret},
    )
    if new_secret:
        # The secret must not linger in a browser or proxy cache.
        add_never_cache_headers(response)
    return response


@login_required
@require_POST
def token_revoke_view(request: AuthedRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's tokens; another user's token id is a 404."""
    if not token_revoke(user=request.user, token_id=token_id):
        raise Http404
    messages.success(request, _("Token revoked. Programs using it can no longer sign in."))
    return HttpResponseRedirect(reverse("api-tokens"))
