from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from feeds.models import Paper, PaperSighting, Source
from feeds.pipeline.poll import source_reset


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin[Source]):
    list_display = [
        "label", "kind", "enabled", "checked_at", "next_check_at", "items_last_time",
        "error_count", "last_error_kind",
    ]  # fmt: skip
    list_filter = ["kind", "enabled", "last_error_kind"]
    search_fields = ["slug", "label", "url"]
    readonly_fields = [
        "etag", "last_modified", "checked_at", "last_success_at", "items_last_time",
        "error_count", "last_error", "last_error_kind", "lease_until",
    ]  # fmt: skip
    actions = ["reset_and_check_now"]

    @admin.action(description=_("Unpause and check now"))
    def reset_and_check_now(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            source_reset(source.id)
        self.message_user(request, _("Sources unpaused."), messages.SUCCESS)


class SightingInline(admin.TabularInline[PaperSighting, Paper]):
    model = PaperSighting
    extra = 0
    readonly_fields = ["source", "announce_type", "version", "first_seen", "last_seen"]
    can_delete = False


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin[Paper]):
    list_display = ["key", "title", "version", "announce_type", "announced", "primary_category"]
    list_filter = ["announce_type", "announced"]
    search_fields = ["key", "title", "doi", "journal_doi"]
    readonly_fields = ["content_hash", "created_at", "updated_at"]
    inlines = [SightingInline]
