"""The project's URL map plus the token page, as the lead wires it in academichub/urls.py."""

from __future__ import annotations

from django.urls import include, path

from academichub.urls import handler404, handler500
from academichub.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("settings/api/", include("api.web_urls")), *project_urlpatterns]

__all__ = ["handler404", "handler500", "urlpatterns"]
