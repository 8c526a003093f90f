"""The token page under /settings/api/ (included by the project's URL map)."""

from __future__ import annotations

from django.urls import path

from api import views

urlpatterns = [
    path("", views.tokens_page, name="api-tokens"),
    path("<int:token_id>/revoke/", views.token_revoke_view, name="api-token-revoke"),
]
