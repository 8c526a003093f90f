from __future__ import annotations

from django.urls import path

from radar import views

app_name = "radar"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("saved/", views.saved, name="saved"),
    path("saved/toggle/<int:paper_id>/", views.save_toggle, name="save_toggle"),
    path("saved/export.bib", views.saved_export_bibtex, name="saved_export_bibtex"),
    path("saved/export.ris", views.saved_export_ris, name="saved_export_ris"),
    path("radars/", views.radar_list, name="radars"),
    path("radars/new/", views.radar_new, name="radar_new"),
    path("radars/preview/", views.radar_preview_partial, name="radar_preview"),
    path("radars/pick/", views.radar_pick, name="radar_pick"),
    path("radars/feed/<str:token>.atom", views.atom_feed, name="atom"),
    path("radars/<int:radar_id>/", views.radar_feed, name="radar_feed"),
    path("radars/<int:radar_id>/edit/", views.radar_edit, name="radar_edit"),
    path("radars/<int:radar_id>/delete/", views.radar_delete_view, name="radar_delete"),
    path("radars/<int:radar_id>/feed-token/", views.feed_token, name="feed_token"),
    path("radars/<int:radar_id>/feedback/<int:paper_id>/", views.feedback, name="feedback"),
    path("topics/", views.topics, name="topics"),
    path("topics/<int:radar_id>/", views.topic_detail, name="topic"),
    path("topics/<int:radar_id>/follow/", views.follow, name="follow"),
]
