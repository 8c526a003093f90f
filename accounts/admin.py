from __future__ import annotations

from django.contrib import admin

from accounts.models import Profile, SuppressedAddress


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin[Profile]):
    list_display = (
        "user", "language", "timezone", "card_language", "digest_frequency", "delivery_hour",
    )  # fmt: skip
    list_filter = ("language", "card_language", "digest_frequency", "delivery_weekday")
    search_fields = ("user__email", "user__username", "timezone")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    show_full_result_count = False


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(admin.ModelAdmin[SuppressedAddress]):
    """Addresses mail no longer goes to; deleting a row lets mail go to it again."""

    list_display = ("email", "reason", "created_at", "detail")
    list_filter = ("reason",)
    search_fields = ("email", "detail")
    date_hierarchy = "created_at"
    readonly_fields = ("event_id",)
