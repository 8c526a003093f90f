from __future__ import annotations

from django.urls import path

from radar import views

app_name = "radar"

urlpatterns = [
    path("saved/", views.saved, name="saved"),
]
