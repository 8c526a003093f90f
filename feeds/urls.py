from __future__ import annotations

from django.urls import path

from feeds import views

app_name = "feeds"

urlpatterns = [
    # The .bib/.ris variants come first: keys are paths (DOIs have slashes).
    path("papers/<path:key>.bib", views.paper_bibtex, name="paper_bibtex"),
    path("papers/<path:key>.ris", views.paper_ris, name="paper_ris"),
    path("papers/<path:key>/", views.paper_detail, name="paper"),
    path("ops/sources/", views.source_health, name="source_health"),
]
