"""Personal API tokens: create, revoke, and find the user a presented token belongs to."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone

from api.models import ApiToken

# A user may keep this many tokens; revoking one makes room for another.
MAX_TOKENS_PER_USER = 20
# last_used_at is approximate on purpose: one write a minute per token, not one per request.
TOUCH_INTERVAL = timedelta(minutes=1)
# `ah_<prefix>_<secret>`: 8 hex characters, then token_urlsafe(32) (43 characters).
TOKEN_RE = re.compile(r"^ah_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")


class TokenLimitReached(Exception):
    """The user already has MAX_TOKENS_PER_USER tokens."""


def token_digest(secret: str) -> str:
    """The sha256 of the full token string, the only form in which it is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: AbstractBaseUser, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`; the secret is returned here and never again."""
    if ApiToken.objects.filter(user_id=user.pk).count() >= MAX_TOKENS_PER_USER:
        raise TokenLimitReached
    prefix = secrets.token_hex(4)
    secret = f"ah_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user_id=user.pk, name=name.strip()[:100], digest=token_digest(secret), prefix=prefix
    )
    return token, secret


def token_revoke(*, user: AbstractBaseUser, token_id: int) -> bool:
    """Delete one of the user's tokens; False when the user has no token with that id."""
    deleted, _ = ApiToken.objects.filter(id=token_id, user_id=user.pk).delete()
    return deleted > 0


def token_authenticate(secret: str) -> ApiToken | None:
    """The live token (with its active user) that `secret` is, noting when it was used."""
    if not TOKEN_RE.match(secret):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(secret), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_user(secret: str) -> AbstractBaseUser | None:
    """The user a presented token belongs to, or None for an unknown or revoked token."""
    token = token_authenticate(secret)
    return token.user if token is not None else None


def token_owner(request: HttpRequest) -> AbstractBaseUser:
    """The user whose API token authenticated `request` (set by the API's TokenAuth)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, AbstractBaseUser)
    return user
