"""Summary cards (one per paper text, prompt version and model, shared by every user) and a
record of every LLM call with its token usage."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from feeds.models import Paper

# The five parts of a card, in each language, in the order they are shown.
SECTIONS = ("tldr", "motivation", "method", "result", "conclusion")
# A pending card polls its page only while it may be done within this.
POLL_HORIZON = timedelta(minutes=2)


class Card(models.Model):
    """A bilingual TL;DR card for one paper's text (title + abstract), made once for everyone.

    Keyed by `text_hash` rather than `Paper.content_hash`: the latter also changes with a
    new version number, links or authors, none of which changes what the card says.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        EXTRACTIVE = "extractive", _("extractive")

    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="cards", verbose_name=_("paper")
    )
    # sha256 of title + "\n" + abstract (`digests.cards.text_hash`; `PaperTextHash` in SQL).
    text_hash = models.CharField(max_length=64)
    prompt_version = models.CharField(_("prompt version"), max_length=40)
    model = models.CharField(_("model"), max_length=120)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )

    title_zh = models.TextField(blank=True)
    # {"tldr": …, "motivation": …, "method": …, "result": …, "conclusion": …}, or {}.
    en = models.JSONField(default=dict, blank=True)
    zh = models.JSONField(default=dict, blank=True)
    keywords = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    # What validation removed from the model's answer (e.g. "url", "html", "image").
    flags = ArrayField(models.CharField(max_length=40), default=list, blank=True)

    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    llm_calls = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # Claimed by one worker until then, so two workers never call the LLM for one card.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    prompt_tokens = models.PositiveIntegerField(_("prompt tokens"), default=0)
    completion_tokens = models.PositiveIntegerField(_("completion tokens"), default=0)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    generated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["paper", "text_hash", "prompt_version", "model"],
                name="card_paper_text_prompt_model_uniq",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="card_due_idx"),
        ]
        verbose_name = _("summary card")
        verbose_name_plural = _("summary cards")

    def __str__(self) -> str:
        return f"Card {self.status} for paper {self.paper_id} ({self.prompt_version}, {self.model})"

    @property
    def readable(self) -> bool:
        """Whether the card has text to show (an LLM card or an extractive one)."""
        return self.status in (self.Status.DONE, self.Status.EXTRACTIVE)

    @property
    def polls(self) -> bool:
        """Whether a page showing this card should ask again soon: it is pending and may be
        done within minutes (not waiting for tomorrow's budget or a long backoff)."""
        if self.status != self.Status.PENDING:
            return False
        return self.next_attempt_at is None or self.next_attempt_at <= timezone.now() + POLL_HORIZON

    def language_part(self, language: str) -> dict[str, str]:
        """The five sections in `language` ("en" or "zh"), empty strings where missing."""
        part = self.en if language == "en" else self.zh
        part = part if isinstance(part, dict) else {}
        return {name: str(part.get(name) or "") for name in SECTIONS}


class LLMCall(models.Model):
    """One request to the LLM endpoint: what for, the outcome and the tokens it used."""

    purpose = models.CharField(_("purpose"), max_length=40)
    # What the call was about, e.g. "paper:123" (never anything about a user).
    subject = models.CharField(_("subject"), max_length=120, blank=True)
    model = models.CharField(_("model"), max_length=120)
    outcome = models.CharField(_("outcome"), max_length=20)
    prompt_tokens = models.PositiveIntegerField(_("prompt tokens"), default=0)
    completion_tokens = models.PositiveIntegerField(_("completion tokens"), default=0)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("LLM call")
        verbose_name_plural = _("LLM calls")

    def __str__(self) -> str:
        return f"{self.purpose} {self.subject} {self.outcome}"


# --- Briefings and their delivery by email (issue 6) ------------------------------------------


class Briefing(models.Model):
    """One radar's briefing for one period and language, shared by every subscriber of the
    radar who wants that language (never one per user).

    `period_start` names the period subscribers are due for (a local date, or the Monday of
    an ISO week). The matches it covers are those *created* in [window_start, window_end):
    each briefing of a radar, cadence and language starts where the previous one was cut,
    so a late or backfilled paper is briefed exactly once.
    """

    class Cadence(models.TextChoices):
        DAY = "day", _("daily")
        WEEK = "week", _("weekly")

    class Language(models.TextChoices):
        EN = "en", _("English")
        ZH = "zh", _("中文")

    class Status(models.TextChoices):
        # Being built, or waiting to ask the LLM again after a timeout or a busy endpoint.
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        # No LLM configured: papers grouped by keyword, category or journal, labelled so.
        EXTRACTIVE = "extractive", _("without a language model")
        # The LLM's answer was rejected (or never came): papers are listed without analysis
        # and `last_error` says why; nothing the model wrote is kept.
        FAILED = "failed", _("failed")
        # No matches in the window: no page and no email.
        EMPTY = "empty", _("empty")

    # Kept when its radar is deleted (the radar becomes null): the emails it was part of are
    # archived as they were mailed (`Delivery.radars`); it is never read or mailed again.
    radar = models.ForeignKey(
        "radar.Radar",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="briefings",
        verbose_name=_("radar"),
    )
    # The radar's name (as its owner wrote it) when the briefing was made: what names it
    # once the radar is deleted.
    radar_name = models.CharField(_("radar name"), max_length=120, blank=True)
    cadence = models.CharField(_("cadence"), max_length=5, choices=Cadence.choices)
    period_start = models.DateField(_("period start"))
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    # See digests.briefings: headline, themes, links, read_first (paper ids), lines, mode.
    content = models.JSONField(default=dict, blank=True)
    # The papers given to the model, best first (at most briefings.MAX_PAPERS).
    paper_ids = ArrayField(models.IntegerField(), default=list, blank=True)
    # Matches in the window, including any beyond the cap.
    match_count = models.PositiveIntegerField(_("matches"), default=0)
    model = models.CharField(max_length=120, blank=True)
    prompt_version = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    llm_calls = models.PositiveIntegerField(_("LLM call count"), default=0)
    prompt_tokens = models.PositiveIntegerField(_("prompt tokens"), default=0)
    completion_tokens = models.PositiveIntegerField(_("completion tokens"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Held by the one worker building it, so two dispatchers never both call the LLM.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    # Made for "send me a test briefing" when the period's shared briefing has nothing: its
    # window is the last day up to the request, outside the chain of shared briefings (never
    # reused by a regular email, never listed among the radar's briefings).
    is_test = models.BooleanField(_("test"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["radar", "cadence", "period_start", "language"],
                condition=models.Q(is_test=False),
                name="briefing_radar_period_language_uniq",
            )
        ]
        indexes = [
            models.Index(
                fields=["radar", "cadence", "language", "-window_end"],
                name="briefing_chain_idx",
            ),
        ]
        verbose_name = _("briefing")
        verbose_name_plural = _("briefings")

    def __str__(self) -> str:
        of = self.radar_id if self.radar_id is not None else f"deleted radar {self.radar_name!r}"
        return f"Briefing {self.cadence} {self.period_start} {self.language} of {of}"

    @property
    def readable(self) -> bool:
        """Whether there is something to show or send (an empty or pending one has not)."""
        return self.status in (self.Status.DONE, self.Status.EXTRACTIVE, self.Status.FAILED)

    @property
    def radar_label(self) -> str:
        """The radar's name as readers see it (radar loaded), or the name it had when the
        briefing was made if it has been deleted since."""
        return self.radar.display_name if self.radar is not None else self.radar_name


class Delivery(models.Model):
    """One reader's briefing email for one period, assembled from the shared briefings of
    every radar they own or follow (`briefing_ids`, empty ones included: they are the
    "nothing new in …" line), in the reader's summary language.

    pending → sending → sent, or failed. A row is claimed by a conditional UPDATE before the
    SMTP conversation and marked afterwards; a row left in `sending` (the worker died, or the
    server's answer was lost) is flagged for staff and never sent again automatically.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        # Nothing new in the period: no email.
        SKIPPED = "skipped", _("nothing new")

    class Language(models.TextChoices):
        EN = "en", _("English")
        ZH = "zh", _("中文")
        # Chinese and English side by side, item by item.
        BOTH = "both", _("Both")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="briefing_deliveries",
        verbose_name=_("user"),
    )
    cadence = models.CharField(_("cadence"), max_length=5, choices=Briefing.Cadence.choices)
    period_start = models.DateField(_("period start"))
    language = models.CharField(
        _("language"), max_length=4, choices=Language.choices, default=Language.EN
    )
    # The briefings the email is made of (one per radar and language), in the order shown.
    briefing_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # The radars of the email as it was mailed, written when it is sent (`digests.email`,
    # `RadarEntry`): [{"id", "name", "public", "owned", "briefings"}]. The archive shows these,
    # so renaming or deleting a radar later does not change a past email.
    radars = models.JSONField(_("radars as mailed"), default=list, blank=True)
    # "Send me a test briefing now": outside the once-per-period rule.
    is_test = models.BooleanField(_("test"), default=False)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    # Made when the row is created, before any attempt, and sent as the Message-ID header.
    message_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # In `sending` for too long: the email may or may not have gone; staff decide.
    flagged = models.BooleanField(_("flagged"), default=False)
    last_error = models.TextField(_("last error"), blank=True)
    # The mail server's own reply when it refused the email for good (5xx), which the
    # reader is shown; other failures' `last_error` is our wording, for staff only.
    refusal = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "cadence", "period_start"],
                condition=models.Q(is_test=False),
                name="delivery_user_period_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["-created_at"], name="delivery_recent_idx"),
            models.Index(fields=["user", "-period_start"], name="delivery_archive_idx"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.state} to user {self.user_id} ({self.cadence} {self.period_start})"

    @property
    def languages(self) -> tuple[str, ...]:
        """The briefing languages the email carries."""
        return ("zh", "en") if self.language == self.Language.BOTH else (self.language,)
