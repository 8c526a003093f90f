from __future__ import annotations

from django.contrib import admin

from accounts.models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin[Profile]):
    list_display = ("user", "language", "timezone", "card_language", "digest_frequency")
    list_filter = ("language", "card_language", "digest_frequency")
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
