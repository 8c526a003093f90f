from __future__ import annotations

from django.urls import path

from radar import views

app_name = "radar"

urlpatterns = [
    path("saved/", views.saved, name="saved"),
    path("saved/toggle/<int:paper_id>/", views.save_toggle, name="save_toggle"),
    path("saved/export.bib", views.saved_export_bibtex, name="saved_export_bibtex"),
    path("saved/export.ris", views.saved_export_ris, name="saved_export_ris"),
]
