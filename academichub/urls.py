"""URL map."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("api.urls")),
    path("settings/api/", include("api.web_urls")),
    path("", include("accounts.urls")),
    path("", include("radar.urls")),
    path("", include("digests.urls")),
    path("", include("feeds.urls")),
]

handler404 = "feeds.views.page_not_found"
handler500 = "feeds.views.server_error"
