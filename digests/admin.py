"""Staff pages for cards, LLM calls, briefings and briefing emails, with the actions staff
need: retry a card now, send a failed or flagged email again (after a confirmation page:
a flagged email may have arrived), or record that a flagged one did arrive."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from digests.cards import cards_retry_now
from digests.delivery import deliveries_mark_sent, deliveries_retry
from digests.models import Briefing, Card, Delivery, LLMCall
from digests.tasks import cards_enqueue


@admin.register(Card)
class CardAdmin(admin.ModelAdmin[Card]):
    list_display = [
        "paper", "status", "attempts", "next_attempt_at", "last_error", "model",
        "prompt_version", "prompt_tokens", "completion_tokens", "updated_at",
    ]  # fmt: skip
    list_filter = ["status", "model", "prompt_version"]
    search_fields = ["=paper__key", "paper__title", "last_error"]
    list_select_related = ["paper"]
    raw_id_fields = ["paper"]
    # The texts are the model's output, validated when they were stored: not edited here.
    readonly_fields = [
        "text_hash", "title_zh", "en", "zh", "keywords", "attempts", "llm_calls",
        "next_attempt_at", "claimed_until", "last_error", "flags", "prompt_tokens",
        "completion_tokens", "created_at", "updated_at", "generated_at",
    ]  # fmt: skip
    show_full_result_count = False
    actions = ["retry_now"]

    @admin.action(permissions=["change"], description=_("Retry now"))
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
class LLMCallAdmin(admin.ModelAdmin[LLMCall]):
    list_display = [
        "created_at", "purpose", "subject", "model", "outcome", "prompt_tokens",
        "completion_tokens", "duration_ms",
    ]  # fmt: skip
    list_filter = ["purpose", "outcome", "model"]
    search_fields = ["subject", "error"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Briefing)
class BriefingAdmin(admin.ModelAdmin[Briefing]):
    list_display = [
        "id", "radar_or_name", "cadence", "period_start", "language", "status", "match_count",
        "llm_calls", "prompt_tokens", "completion_tokens", "last_error", "generated_at",
    ]  # fmt: skip
    list_filter = ["status", "cadence", "language"]
    search_fields = ["radar__name", "radar_name", "last_error"]
    list_select_related = ["radar"]
    raw_id_fields = ["radar"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "radar_name", "content", "window_start", "window_end", "paper_ids", "match_count",
        "model", "prompt_version", "attempts", "llm_calls", "prompt_tokens",
        "completion_tokens", "last_error", "next_attempt_at", "claimed_until", "created_at",
        "updated_at", "generated_at",
    ]  # fmt: skip
    show_full_result_count = False

    @admin.display(description=_("radar"), ordering="radar__name")
    def radar_or_name(self, briefing: Briefing) -> str:
        if briefing.radar is not None:
            return str(briefing.radar)
        # Kept for the emails it was part of after its radar was deleted.
        return _("%(name)s (deleted)") % {"name": briefing.radar_name}


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = [
        "id", "created_at", "user", "cadence", "period_start", "language", "state", "flagged",
        "is_test", "attempts", "next_attempt_at", "sent_at", "last_error",
    ]  # fmt: skip
    list_filter = ["state", "flagged", "is_test", "cadence", "language"]
    search_fields = ["user__email", "=message_id", "last_error"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "briefing_ids", "radars", "message_id", "attempts", "sending_since", "sent_at",
        "created_at", "updated_at",
    ]  # fmt: skip
    show_full_result_count = False
    actions = ["send_again", "mark_sent"]

    @admin.action(
        permissions=["change"],
        description=_("Send again (failed, or flagged: may send a second copy; asks first)"),
    )
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> HttpResponse | None:
        flagged = list(queryset.filter(flagged=True).select_related("user"))
        if flagged and not request.POST.get("confirm"):
            # A flagged email's outcome is unknown: it may be in the reader's inbox already.
            context = {
                **self.admin_site.each_context(request),
                "title": _("Send flagged emails again?"),
                "opts": self.model._meta,
                "flagged": flagged,
                "queryset": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "action": "send_again",
            }
            return TemplateResponse(request, "digests/admin/delivery_send_again.html", context)
        count = deliveries_retry(queryset.values_list("id", flat=True))
        self.message_user(
            request,
            _("%(count)d emails will be sent at the next dispatch (with the same Message-ID).")
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
        return None

    @admin.action(
        permissions=["change"],
        description=_("Mark flagged emails as sent (the mail log shows they arrived)"),
    )
    def mark_sent(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = deliveries_mark_sent(queryset.values_list("id", flat=True))
        self.message_user(
            request,
            _("%(count)d flagged emails marked as sent.") % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
