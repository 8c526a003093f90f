"""Writes and reads on profiles."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from accounts.models import Profile


def profile_for(user: AbstractBaseUser) -> Profile:
    """The user's profile, created with defaults on first use."""
    profile, _ = Profile.objects.get_or_create(user_id=user.pk)
    return profile
