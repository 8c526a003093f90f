"""Summary cards (one per paper text, prompt version and model, shared by every user) and a
record of every LLM call with its token usage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="cards")
    # sha256 of title + "\n" + abstract (`digests.cards.text_hash`; `PaperTextHash` in SQL).
    text_hash = models.CharField(max_length=64)
    prompt_version = models.CharField(max_length=40)
    model = models.CharField(max_length=120)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)

    title_zh = models.TextField(blank=True)
    # {"tldr": …, "motivation": …, "method": …, "result": …, "conclusion": …}, or {}.
    en = models.JSONField(default=dict, blank=True)
    zh = models.JSONField(default=dict, blank=True)
    keywords = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    # What validation removed from the model's answer (e.g. "url", "html", "image").
    flags = ArrayField(models.CharField(max_length=40), default=list, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    llm_calls = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Claimed by one worker until then, so two workers never call the LLM for one card.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
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

    def language_part(self, language: str) -> dict[str, Any]:
        """The five sections in `language` ("en" or "zh"), empty strings where missing."""
        part = self.en if language == "en" else self.zh
        part = part if isinstance(part, dict) else {}
        return {name: str(part.get(name) or "") for name in SECTIONS}


class LLMCall(models.Model):
    """One request to the LLM endpoint: what for, the outcome and the tokens it used."""

    purpose = models.CharField(max_length=40)
    # What the call was about, e.g. "paper:123" (never anything about a user).
    subject = models.CharField(max_length=120, blank=True)
    model = models.CharField(max_length=120)
    outcome = models.CharField(max_length=20)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "LLM call"

    def __str__(self) -> str:
        return f"{self.purpose} {self.subject} {self.outcome}"
