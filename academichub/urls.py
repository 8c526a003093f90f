"""URL map."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from academichub import metrics, views
from api.urls import not_found as api_not_found

urlpatterns = [
    path("", views.today, name="today"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("api.urls")),
    # the rest of /api (its root, /api/v1 without its slash, another version): JSON, never HTML
    re_path(r"^api(?:/[\s\S]*)?\Z", api_not_found),
    path("settings/api/", include("api.web_urls")),
    path("", include("accounts.urls")),
    path("", include("radar.urls")),
    path("", include("digests.urls")),
    path("", include("feeds.urls")),
]

handler404 = "academichub.views.page_not_found"
handler500 = "academichub.views.server_error"
