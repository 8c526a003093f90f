"""Writes on saved papers."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from feeds.models import Paper
from radar.models import SavedPaper


def saved_paper_toggle(*, user: AbstractBaseUser, paper: Paper, saved: bool | None = None) -> bool:
    """Save or unsave `paper` for `user` (flip when `saved` is None); returns the new state."""
    with transaction.atomic():
        rows = SavedPaper.objects.filter(user_id=user.pk, paper_id=paper.pk)
        if saved is None:
            saved = not rows.exists()
        if saved:
            # The unique constraint makes a double click or a replayed POST harmless.
            SavedPaper.objects.get_or_create(user_id=user.pk, paper_id=paper.pk)
        else:
            rows.delete()
    return saved
