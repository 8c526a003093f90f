"""Bounce and complaint webhooks of providers other than Mailgun, at /mail/events/<provider>/:
served only once what authenticates them is set (ANYMAIL's WEBHOOK_SECRET, the basic auth
anymail checks), a wrongly authenticated report rejected and ignored, a soft bounce ignored,
and a hard bounce stopping the briefing email to that address."""

from __future__ import annotations

import base64
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import SuppressedAddress
from digests.delivery import dispatch_due
from feeds.models import Source
from radar.models import Radar
from testkit.smtp_sink import Sink
from tests.factories import follow, matched, paper, person

pytestmark = pytest.mark.django_db

SECRET = "hooks:a-long-webhook-password"
MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)


@pytest.fixture
def secret(settings: Settings) -> Settings:
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    # SendGrid is not served at all: anymail dropped its support.
    assert report("sendgrid", postmark("a@example.org")) == 404
    return settings


def auth(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def report(provider: str, body: Any, credentials: str | None = SECRET) -> int:
    headers = auth(credentials) if credentials else {}
    response = Client().post(
        f"/mail/events/{provider}/", json.dumps(body), "application/json", headers=headers
    )
    return response.status_code


def postmark(address: str, kind: str = "HardBounce", record: str = "Bounce") -> dict[str, Any]:
    return {
        "RecordType": record, "Type": kind, "TypeCode": 1, "ID": 4323372036,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Email": address,
        "Description": "The server was unable to deliver your message", "Inactive": True,
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
        "BouncedAt": "2026-01-12T06:00:00Z", "MessageStream": "outbound", "Metadata": {},
    }  # fmt: skip


def test_a_postmark_hard_bounce_with_the_right_secret_stops_mail_and_a_wrong_one_is_rejected(
    secret: Settings, no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source]
) -> None:
    reader, other = person("bounces", hour=7), person("fine", hour=7)
    radar = Radar.objects.create(owner=person("owner"), name="Long documents", public=True)
    matched(radar, [paper(src["cs"], "Sparse attention")], at=MORNING - timedelta(hours=1))
    for user in (reader, other):
        follow(user, radar)

    assert report("postmark", postmark(reader.email), credentials="hooks:wrong") == 400
    assert report("postmark", postmark(reader.email), credentials=None) == 400
    assert not SuppressedAddress.objects.exists()
    assert report("postmark", postmark(reader.email, kind="SoftBounce")) == 200
    assert not SuppressedAddress.objects.exists()
    assert report("postmark", postmark(reader.email)) == 200

    [row] = SuppressedAddress.objects.all()
    assert (row.email, row.reason) == (reader.email, "bounced")
    assert row.detail.startswith("Postmark: ")
    with time_machine.travel(MORNING, tick=False):
        dispatch_due(now=MORNING)
    assert [m["To"] for m in smtp_sink.messages] == [other.email]


def test_a_postmark_spam_complaint_and_brevo_reports(secret: Settings) -> None:
    complained = postmark("a@example.org", kind="SpamComplaint", record="SpamComplaint")
    assert report("postmark", complained) == 200
    brevo = {"event": "soft_bounce", "email": "b@example.org", "reason": "mailbox full"}
    assert report("brevo", brevo) == 200
    assert report("brevo", {**brevo, "event": "hard_bounce", "reason": "550 unknown"}) == 200
    wrong = {**brevo, "event": "hard_bounce", "email": "c@example.org"}
    assert report("brevo", wrong, credentials="hooks:wrong") == 400

    suppressed = dict(SuppressedAddress.objects.values_list("email", "reason"))
    assert suppressed == {
        "a@example.org": "complained",
        "b@example.org": "bounced",
    }


def test_a_provider_without_its_authentication_set_has_no_webhook(settings: Settings) -> None:
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key-only-mailgun"}
    for provider in ("postmark", "brevo", "sendgrid", "amazon_ses"):
        assert report(provider, postmark("a@example.org")) == 404
    assert report("unknown", postmark("a@example.org")) == 404
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    # SendGrid is not served at all: anymail dropped its support.
    assert report("sendgrid", postmark("a@example.org")) == 404
    if importlib.util.find_spec("boto3") is None:  # django-anymail[amazon-ses] not installed
        assert report("amazon_ses", {"Type": "Notification"}) == 404
    assert not SuppressedAddress.objects.exists()
