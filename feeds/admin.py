"""Staff pages for sources, papers and sightings. Papers and sightings run to millions of
rows: their lists never count the whole table and never render a select of papers."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from feeds.models import Paper, PaperSighting, Source
from feeds.pipeline.poll import source_reset, sources_enable


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin[Source]):
    list_display = [
        "label", "kind", "discipline", "enabled", "is_paused", "checked_at", "next_check_at",
        "items_last_time", "warnings_last_time", "error_count", "last_error_kind",
    ]  # fmt: skip
    list_filter = ["kind", "enabled", "last_error_kind", "discipline"]
    search_fields = ["slug", "label", "url", "last_error"]
    readonly_fields = [
        "etag", "last_modified", "checked_at", "last_success_at", "items_last_time",
        "warnings_last_time", "error_count", "last_error", "last_error_kind", "lease_until",
        "lease_token",
    ]  # fmt: skip
    actions = ["reset_and_check_now", "pause", "resume"]

    @admin.display(boolean=True, description=_("paused by errors"))
    def is_paused(self, source: Source) -> bool:
        return source.paused

    @admin.action(permissions=["change"], description=_("Reset the error count and check now"))
    def reset_and_check_now(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source_id in queryset.values_list("id", flat=True):
            source_reset(source_id)
        self.message_user(request, _("Sources unpaused."), messages.SUCCESS)

    @admin.action(permissions=["change"], description=_("Pause (stop polling)"))
    def pause(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        count = sources_enable(queryset.values_list("id", flat=True), enabled=False)
        self.message_user(
            request, _("%(count)d sources paused.") % {"count": count}, messages.SUCCESS
        )

    @admin.action(
        permissions=["change"], description=_("Resume polling (errors reset, checked now)")
    )
    def resume(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        count = sources_enable(queryset.values_list("id", flat=True), enabled=True)
        self.message_user(
            request, _("%(count)d sources resumed.") % {"count": count}, messages.SUCCESS
        )


class SightingInline(admin.TabularInline[PaperSighting, Paper]):
    model = PaperSighting
    extra = 0
    fields = ["source", "announce_type", "version", "first_seen", "last_seen"]
    readonly_fields = ["source", "announce_type", "version", "first_seen", "last_seen"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin[Paper]):
    list_display = ["key", "title", "version", "announce_type", "announced", "primary_category"]
    list_filter = ["announce_type", "announced"]
    search_fields = ["key", "title", "doi", "journal_doi"]
    readonly_fields = ["content_hash", "created_at", "updated_at"]
    exclude = ["search_vector"]
    inlines = [SightingInline]
    show_full_result_count = False
    list_per_page = 50


@admin.register(PaperSighting)
class PaperSightingAdmin(admin.ModelAdmin[PaperSighting]):
    list_display = ["paper", "source", "announce_type", "version", "first_seen", "last_seen"]
    list_filter = ["source", "announce_type"]
    search_fields = ["=paper__key", "=paper__arxiv_id", "=paper__doi"]
    list_select_related = ["paper", "source"]
    raw_id_fields = ["paper"]
    readonly_fields = ["raw_hash", "first_seen", "last_seen"]
    show_full_result_count = False
