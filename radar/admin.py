"""Staff pages for radars and what hangs off them. Matches, sightings of users (seen papers)
and embeddings run to millions of rows: their lists never count the whole table, and no
page renders a select of every paper or user (raw id fields)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from academichub.enqueue import enqueue_on_commit
from radar.models import (
    Feedback,
    Match,
    PaperEmbedding,
    Radar,
    SavedPaper,
    SeenPaper,
    Subscription,
)
from radar.services import MAX_RADARS_PER_USER, radar_create, radar_limit_reached, radar_update
from radar.tasks import radar_rescore


class ReadOnlyAdmin[M: Model](admin.ModelAdmin[M]):
    """Rows the pipeline computes: staff look and may delete, never add or edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RadarAdminForm(forms.ModelForm[Radar]):
    """Refuses a radar for an owner who has the most an account may keep, as a form error
    (radar_create would refuse it too, after the form was accepted: a server error)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        owner = cleaned.get("owner")
        # A new radar, or one moved to another owner: the owner gains a radar.
        if (
            owner is not None
            and owner.pk != self.instance.owner_id
            and radar_limit_reached(owner.pk)
        ):
            self.add_error(
                "owner",
                _(
                    "This user has %(n)d radars, the most an account can keep. Delete one of "
                    "them first, or choose another owner."
                )
                % {"n": MAX_RADARS_PER_USER},
            )
        return cleaned


@admin.register(Radar)
class RadarAdmin(admin.ModelAdmin[Radar]):
    form = RadarAdminForm
    list_display = ["name", "owner", "public", "active", "threshold", "created_at", "updated_at"]
    list_filter = ["public", "active"]
    search_fields = ["name", "description", "owner__email"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created_at"
    # The profile vector is computed (and 384 numbers long): never a form field.
    exclude = ["profile"]
    readonly_fields = [
        "feed_token", "sim_floor", "sim_ceil", "profile_updated_at", "understood",
        "understood_error", "understood_attempts", "learned", "created_at", "updated_at",
    ]  # fmt: skip
    actions = ["rescore"]

    def save_model(self, request: HttpRequest, obj: Radar, form: Any, change: bool) -> None:
        # Through the services, as the radar pages: the stale profile dropped, the window
        # rescored, the English profile of a new description asked for.
        if change:
            radar_update(obj, fields={name: form.cleaned_data[name] for name in form.changed_data})
        else:
            fields = {k: v for k, v in form.cleaned_data.items() if k != "owner"}
            # The admin goes on with `obj` (its history entry, the redirect): give it the row.
            obj.pk = radar_create(owner=obj.owner, fields=fields).pk

    @admin.action(
        permissions=["change"], description=_("Rescore the recent window (in the background)")
    )
    def rescore(self, request: HttpRequest, queryset: QuerySet[Radar]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        for radar_id in ids:
            enqueue_on_commit(radar_rescore, radar_id)
        self.message_user(
            request, _("%(count)d radars queued for rescoring.") % {"count": len(ids)},
            messages.SUCCESS,
        )  # fmt: skip


@admin.register(Match)
class MatchAdmin(ReadOnlyAdmin[Match]):
    list_display = ["radar", "paper", "score", "announced", "created_at"]
    list_filter = ["announced"]
    search_fields = ["radar__name", "=paper__key"]
    list_select_related = ["radar", "paper"]
    raw_id_fields = ["radar", "paper"]
    show_full_result_count = False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin[Feedback]):
    list_display = ["user", "radar", "paper", "value", "created_at"]
    list_filter = ["value"]
    search_fields = ["user__email", "radar__name", "=paper__key"]
    list_select_related = ["user", "radar", "paper"]
    raw_id_fields = ["user", "radar", "paper"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    list_display = ["user", "radar", "frequency", "language", "created_at"]
    list_filter = ["frequency", "language", "radar__public"]
    search_fields = ["user__email", "radar__name"]
    list_select_related = ["user", "radar"]
    raw_id_fields = ["user", "radar"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(SavedPaper)
class SavedPaperAdmin(admin.ModelAdmin[SavedPaper]):
    list_display = ["user", "paper", "created_at"]
    search_fields = ["user__email", "=paper__key", "paper__title"]
    list_select_related = ["user", "paper"]
    raw_id_fields = ["user", "paper"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(SeenPaper)
class SeenPaperAdmin(ReadOnlyAdmin[SeenPaper]):
    list_display = ["user", "paper", "seen_at"]
    search_fields = ["user__email", "=paper__key"]
    list_select_related = ["user", "paper"]
    raw_id_fields = ["user", "paper"]
    show_full_result_count = False


@admin.register(PaperEmbedding)
class PaperEmbeddingAdmin(ReadOnlyAdmin[PaperEmbedding]):
    list_display = ["paper", "model", "created_at"]
    list_filter = ["model"]
    search_fields = ["=paper__key"]
    list_select_related = ["paper"]
    raw_id_fields = ["paper"]
    exclude = ["vector"]
    show_full_result_count = False
