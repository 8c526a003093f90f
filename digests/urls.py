"""URLs of the digests app: a paper's summary card (htmx polling and the language toggle)."""

from __future__ import annotations

from django.urls import path

from digests import views

app_name = "digests"

urlpatterns = [
    path("cards/<int:paper_id>/", views.card_detail, name="card"),
]
