from __future__ import annotations

from django.contrib import admin

from radar.models import SavedPaper


@admin.register(SavedPaper)
class SavedPaperAdmin(admin.ModelAdmin[SavedPaper]):
    list_display = ("user", "paper", "created_at")
    search_fields = ("user__email", "paper__key", "paper__title")
    raw_id_fields = ("user", "paper")
    date_hierarchy = "created_at"
