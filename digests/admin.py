from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from digests.cards import cards_retry_now
from digests.models import Card, LLMCall
from digests.tasks import cards_enqueue


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = [
        "paper", "status", "attempts", "next_attempt_at", "last_error", "model",
        "prompt_version", "prompt_tokens", "completion_tokens", "updated_at",
    ]  # fmt: skip
    list_filter = ["status", "model", "prompt_version"]
    search_fields = ["paper__key", "paper__title", "last_error"]
    list_select_related = ["paper"]
    raw_id_fields = ["paper"]
    readonly_fields = [
        "text_hash", "attempts", "llm_calls", "next_attempt_at", "claimed_until", "last_error",
        "flags", "prompt_tokens", "completion_tokens", "created_at", "updated_at", "generated_at",
    ]  # fmt: skip
    actions = ["retry_now"]

    @admin.action(description=_("Retry now"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Card]) -> None:
        with transaction.atomic():
            paper_ids = cards_retry_now(queryset.values_list("id", flat=True))
            cards_enqueue(paper_ids)
        self.message_user(
            request,
            _("%(count)d cards queued again.") % {"count": len(paper_ids)},
            messages.SUCCESS,
        )


@admin.register(LLMCall)
class LLMCallAdmin(admin.ModelAdmin):
    list_display = [
        "created_at", "purpose", "subject", "model", "outcome", "prompt_tokens",
        "completion_tokens", "duration_ms",
    ]  # fmt: skip
    list_filter = ["purpose", "outcome", "model"]
    search_fields = ["subject", "error"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
