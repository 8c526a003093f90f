from __future__ import annotations

from django.urls import path

from feeds import views

app_name = "feeds"

urlpatterns = [
    path("", views.today, name="today"),
    path("search/", views.search, name="search"),
    path("ops/sources/", views.source_health, name="source_health"),
    path("healthz", views.healthz, name="healthz"),
]
