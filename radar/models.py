"""Radars (later), and the papers a user saved."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from feeds.models import Paper


class SavedPaper(models.Model):
    """A paper a user starred, to read later or export."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_papers"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="saved_by")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="saved_user_paper_uniq")
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="saved_user_recent_idx")]
