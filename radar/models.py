"""Radars, their matches and feedback, paper embeddings, and the papers a user saved."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from pgvector.django import VectorField

from accounts.models import Profile
from feeds.models import Paper
from feeds.names import topic_name
from radar.embedding import DIM
from radar.scoring import DEFAULT_THRESHOLD


class SavedPaper(models.Model):
    """A paper a user starred, to read later or export."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_papers",
        verbose_name=_("user"),
    )
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="saved_by", verbose_name=_("paper")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="saved_user_paper_uniq")
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="saved_user_recent_idx")]
        verbose_name = _("saved paper")
        verbose_name_plural = _("saved papers")


class PaperEmbedding(models.Model):
    """A paper's vector, computed once from `paper_text` and shared by every radar."""

    paper = models.OneToOneField(
        Paper,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="embedding",
        verbose_name=_("paper"),
    )
    vector = VectorField(_("vector"), dimensions=DIM)
    # `Embedder.name`: vectors from another embedder must be recomputed, not compared.
    model = models.CharField(_("model"), max_length=120)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("paper embedding")
        verbose_name_plural = _("paper embeddings")


class Radar(models.Model):
    """A standing interest: phrases, authors, a description and examples, scored per paper."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="radars",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    # Include query in `radar.query` syntax (`"prompt injection" OR jailbreak NOT survey`).
    include = models.TextField(_("include query"), blank=True)
    exclude = ArrayField(
        models.TextField(), default=list, blank=True, verbose_name=_("exclude phrases")
    )
    categories = ArrayField(
        models.CharField(max_length=80), default=list, blank=True, verbose_name=_("categories")
    )
    # Source slugs.
    sources = ArrayField(
        models.CharField(max_length=80), default=list, blank=True, verbose_name=_("sources")
    )
    authors = ArrayField(
        models.TextField(), default=list, blank=True, verbose_name=_("followed authors")
    )
    # Paper keys (arXiv id without version, or lower-cased DOI).
    examples = ArrayField(
        models.CharField(max_length=255),
        default=list,
        blank=True,
        verbose_name=_("example papers"),
    )
    # The lowest score shown, in points 0..100 (`radar.scoring`): higher means fewer, closer
    # matches.
    threshold = models.FloatField(_("threshold"), default=DEFAULT_THRESHOLD)
    public = models.BooleanField(_("public"), default=False)
    active = models.BooleanField(_("active"), default=True)
    # The secret in the radar's Atom feed URL; None when the feed is off (revoked).
    feed_token = models.CharField(
        _("Atom feed token"), max_length=64, null=True, blank=True, unique=True
    )
    profile = VectorField(_("profile vector"), dimensions=DIM, null=True, blank=True)
    # The cosine band rescaled to closeness 0..1 for this profile (`radar.profiles.band_for`).
    sim_floor = models.FloatField(_("similarity floor"), null=True, blank=True)
    sim_ceil = models.FloatField(_("similarity ceiling"), null=True, blank=True)
    profile_updated_at = models.DateTimeField(_("profile updated at"), null=True, blank=True)
    # The description as an English search profile (`radar.understanding`): {"text": an
    # English paraphrase, "keywords": English phrases, "by": "llm" | "you", "for": sha256 of
    # the description it was made from, "model": the LLM's name or ""}; {} until made.
    understood = models.JSONField(_("English search profile"), default=dict, blank=True)
    # What the liked papers taught (`radar.profiles.likes_learned`): {"categories": {category:
    # share}, "words": {word: weight}}; {} before any 👍 or example.
    learned = models.JSONField(_("learned from liked papers"), default=dict, blank=True)
    # Why the last LLM attempt for the current description failed, and how many have failed
    # (both cleared when one succeeds or the description changes).
    understood_error = models.TextField(_("English search profile error"), blank=True)
    understood_attempts = models.PositiveSmallIntegerField(
        _("failed English search profile attempts"), default=0
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "name"], name="radar_owner_name_idx"),
            models.Index(fields=["name"], condition=models.Q(public=True), name="radar_public_idx"),
        ]
        verbose_name = _("radar")
        verbose_name_plural = _("radars")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name shown to readers: a starter public topic's in their language."""
        return topic_name(self.name) if self.public else self.name


class Match(models.Model):
    """That a radar surfaced a paper, once, with its score and the reasons in plain words."""

    # No index of its own: the unique (radar, paper) and the feed index both lead with radar.
    radar = models.ForeignKey(
        Radar,
        on_delete=models.CASCADE,
        related_name="matches",
        db_index=False,
        verbose_name=_("radar"),
    )
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="matches", verbose_name=_("paper")
    )
    # Points 0..100, the sum of the parts named in `reasons` (`radar.scoring`).
    score = models.FloatField(_("score"))
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    # The paper's announcement day when it was matched, copied so that a radar's feed is
    # read in order from one index, without joining and sorting all its papers.
    announced = models.DateField(_("announced"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["radar", "paper"], name="match_radar_paper_uniq")
        ]
        indexes = [
            models.Index(
                fields=["radar", "-announced", "-score", "id"], name="match_radar_feed_idx"
            ),
            models.Index(fields=["radar", "-created_at"], name="match_radar_created_idx"),
            models.Index(fields=["announced"], name="match_announced_idx"),
        ]
        # In context: the plain "matches" is a briefing's count of them (匹配数).
        verbose_name = pgettext_lazy("radar model", "match")
        verbose_name_plural = pgettext_lazy("radar model", "matches")

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Bulk writers set `announced` themselves; a single row takes it from its paper.
        if self.announced is None:
            self.announced = self.paper.announced
        super().save(*args, **kwargs)


class Feedback(models.Model):
    """A user's 👍 (+1) or 👎 (-1) on a paper within one radar; it moves the radar's profile."""

    class Value(models.IntegerChoices):
        # Words, not emoji: the admin shows these, and emoji are boxes without an emoji font.
        UP = 1, pgettext_lazy("feedback", "Up")
        DOWN = -1, pgettext_lazy("feedback", "Down")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="radar_feedback",
        verbose_name=_("user"),
    )
    radar = models.ForeignKey(
        Radar, on_delete=models.CASCADE, related_name="feedback", verbose_name=_("radar")
    )
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="radar_feedback", verbose_name=_("paper")
    )
    value = models.SmallIntegerField(_("value"), choices=Value.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "radar", "paper"], name="feedback_user_radar_paper_uniq"
            ),
            models.CheckConstraint(
                condition=models.Q(value__in=[1, -1]), name="feedback_value_pm1"
            ),
        ]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")


class Subscription(models.Model):
    """A user following a radar (their own, or a public topic), and how its briefing reaches them."""

    # The same choices as the profile's preferences, which settings apply to every subscription.
    Frequency = Profile.Frequency
    Language = Profile.CardLanguage

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        verbose_name=_("user"),
    )
    radar = models.ForeignKey(
        Radar, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("radar")
    )
    frequency = models.CharField(
        _("briefing email"), max_length=8, choices=Frequency.choices, default=Frequency.DAILY
    )
    language = models.CharField(
        _("briefing language"), max_length=4, choices=Language.choices, default=Language.BOTH
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "radar"], name="subscription_user_radar_uniq")
        ]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")


class SeenPaper(models.Model):
    """That a user has been shown a paper in a radar feed: it is no longer marked new."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="seen_papers",
        verbose_name=_("user"),
    )
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="seen_by", verbose_name=_("paper")
    )
    seen_at = models.DateTimeField(_("seen at"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="seen_user_paper_uniq")
        ]
        verbose_name = _("seen paper")
        verbose_name_plural = _("seen papers")
