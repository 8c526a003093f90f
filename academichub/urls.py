"""URL map."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from academichub import metrics, views

urlpatterns = [
    path("", views.today, name="today"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("api.urls")),
    path("settings/api/", include("api.web_urls")),
    path("", include("accounts.urls")),
    path("", include("radar.urls")),
    path("", include("digests.urls")),
    path("", include("feeds.urls")),
]

handler404 = "academichub.views.page_not_found"
handler500 = "academichub.views.server_error"
