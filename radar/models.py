"""Radars, their matches and feedback, paper embeddings, and the papers a user saved."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from pgvector.django import VectorField

from feeds.models import Paper
from radar.embedding import DIM


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


class PaperEmbedding(models.Model):
    """A paper's vector, computed once from `paper_text` and shared by every radar."""

    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="embedding"
    )
    vector = VectorField(dimensions=DIM)
    # `Embedder.name`: vectors from another embedder must be recomputed, not compared.
    model = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)


class Radar(models.Model):
    """A standing interest: phrases, authors, a description and examples, scored per paper."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="radars"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    # Include query in `radar.query` syntax (`"prompt injection" OR jailbreak NOT survey`).
    include = models.TextField(blank=True)
    exclude = ArrayField(models.TextField(), default=list, blank=True)
    categories = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    # Source slugs.
    sources = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    authors = ArrayField(models.TextField(), default=list, blank=True)
    # Paper keys (arXiv id without version, or lower-cased DOI).
    examples = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    # On the combined score scale of `radar.matching` (roughly 0..1.5).
    threshold = models.FloatField(default=0.5)
    public = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    profile = VectorField(dimensions=DIM, null=True, blank=True)
    profile_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["owner", "name"], name="radar_owner_name_idx")]

    def __str__(self) -> str:
        return self.name


class Match(models.Model):
    """That a radar surfaced a paper, once, with its score and the reasons in plain words."""

    radar = models.ForeignKey(Radar, on_delete=models.CASCADE, related_name="matches")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="matches")
    score = models.FloatField()
    reasons = models.JSONField(default=list, blank=True)
    seen = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["radar", "paper"], name="match_radar_paper_uniq")
        ]
        indexes = [models.Index(fields=["radar", "-score"], name="match_radar_score_idx")]


class Feedback(models.Model):
    """A user's 👍 (+1) or 👎 (-1) on a paper within one radar; it moves the radar's profile."""

    class Value(models.IntegerChoices):
        UP = 1, "👍"
        DOWN = -1, "👎"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="radar_feedback"
    )
    radar = models.ForeignKey(Radar, on_delete=models.CASCADE, related_name="feedback")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="radar_feedback")
    value = models.SmallIntegerField(choices=Value.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "radar", "paper"], name="feedback_user_radar_paper_uniq"
            ),
            models.CheckConstraint(
                condition=models.Q(value__in=[1, -1]), name="feedback_value_pm1"
            ),
        ]
