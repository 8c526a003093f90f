"""URLs of the digests app: a paper's summary card (htmx polling and the language toggle),
briefings, the reader's briefing emails, one-click unsubscribe, the staff view of deliveries and
the mail provider's bounce reports."""

from __future__ import annotations

from django.urls import path

from digests import views

app_name = "digests"

urlpatterns = [
    path("cards/<int:paper_id>/", views.card_detail, name="card"),
    path("briefings/", views.briefing_list, name="briefings"),
    path("briefings/test/", views.briefing_test, name="briefing_test"),
    path("briefings/radar/<int:radar_id>/", views.briefing_radar, name="briefing_radar"),
    path("briefings/emails/", views.email_list, name="emails"),
    path("briefings/emails/<int:delivery_id>/", views.email_detail, name="email"),
    path("briefings/<int:briefing_id>/", views.briefing_detail, name="briefing"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("ops/deliveries/", views.deliveries_staff, name="deliveries_staff"),
    path("mail/events/<slug:provider>/", views.mail_events, name="mail_events"),
    # Where Mailgun's webhook was set up before other providers were served.
    path("webhooks/mailgun/tracking/", views.mail_events, {"provider": "mailgun"}),
]
