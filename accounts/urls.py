from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("language/", views.language_set, name="language"),
    path("settings/", views.settings_page, name="settings"),
]
