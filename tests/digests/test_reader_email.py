"""Around the reader's email: TeX made readable, the test briefing of all the reader's radars
the same day, the archive of past emails (owner, another user, a visitor), and bounces and
complaints reported by a signed Mailgun webhook over real HTTP that stop mail to the address."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine
from django.test import Client
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.models import SuppressedAddress
from digests.delivery import briefing_test_send, dispatch_due
from digests.mathtext import tex_plain
from digests.models import Delivery
from feeds.models import Source
from radar.models import Radar
from testkit.briefing_llm import ZH
from testkit.fake_llm import FakeLLM
from testkit.smtp_sink import SITE_URL, Sink
from tests.factories import UserFactory, follow, matched, paper, person, signed_in

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
KEY = "key-test-signing"


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"A $10^{10}\,M_\odot$ black hole", "A 10¹⁰ M⊙ black hole"),
        (r"$\alpha$ and $\beta_1$ decay", "α and β₁ decay"),
        (r"$O(n^2)$ attention", "O(n²) attention"),
        (r"$\mathrm{H}_2\mathrm{O}$ ice", "H₂O ice"),
        (r"$z \sim 0.5$, $T \lesssim 10$ K", "z ∼ 0.5, T ≲ 10 K"),
        (r"$T_{\rm eff}$", "T_eff"),  # no subscript "f": written out, without braces
        (r"$\frac{a}{b}$", "a/b"),
        (r"$\Lambda$CDM", "ΛCDM"),
        ("costs $5 and $6", "costs $5 and $6"),  # a lone dollar is no math
        ("no math here", "no math here"),
    ],
)
def test_tex_becomes_readable_text(tex: str, text: str) -> None:
    assert tex_plain(tex) == text


# --- The test briefing -----------------------------------------------------------------------


def test_a_new_readers_test_briefing_covers_their_radars_and_topics_the_same_day(
    briefing_llm: FakeLLM, mail: Settings, smtp_sink: Sink, src: dict[str, Source]
) -> None:
    now = MORNING + timedelta(hours=3)  # after today's delivery hour: no regular email yet
    reader = person("new", hour=7, language="zh-hans", card_language="zh")
    own = Radar.objects.create(owner=reader, name="Long documents")
    topic = Radar.objects.create(owner=person("curator"), name="Genome models", public=True)
    matched(own, [paper(src["cs"], "Sparse attention")], at=now - timedelta(hours=2))
    matched(topic, [paper(src["bio"], "Genome attention")], at=now - timedelta(hours=20))
    for radar in (own, topic):
        follow(reader, radar, since=now - timedelta(minutes=5))

    with time_machine.travel(now, tick=False):
        assert briefing_test_send(reader, now=now) == "sent"

    [message] = smtp_sink.messages
    text = str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert message["Subject"].startswith("[测试] 每日简报 · ")
    assert "这是一封测试简报" in text
    assert "==== Long documents ====" in text and "==== Genome models ====" in text
    assert ZH["headline"] in text
    delivery = Delivery.objects.get()
    assert delivery.is_test and len(delivery.briefing_ids) == 2


# --- The archive -----------------------------------------------------------------------------


@pytest.fixture
def sent(no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source]) -> Delivery:
    reader = person("archived", hour=7)
    radar = Radar.objects.create(owner=reader, name="Long documents")
    matched(radar, [paper(src["cs"], r"Sparse attention at $O(n)$")], at=MORNING - timedelta(1))
    follow(reader, radar)
    with time_machine.travel(MORNING, tick=False):
        dispatch_due(now=MORNING)
    return Delivery.objects.get(state="sent")


def test_the_reader_reads_the_email_in_the_browser_as_it_was_mailed(
    sent: Delivery, smtp_sink: Sink
) -> None:
    [message] = smtp_sink.messages
    html = str(message.get_body(preferencelist=("html",)).get_content())  # type: ignore[union-attr]
    view = f"{SITE_URL}/briefings/emails/{sent.pk}/"
    assert f'href="{view}"' in html
    client = signed_in(sent.user)

    page = client.get(f"/briefings/emails/{sent.pk}/").content.decode()
    archive = client.get("/briefings/emails/").content.decode()

    for part in ("Your daily briefing, January 12", "Sparse attention at O(n)", "Long documents"):
        assert part in page and part in html
    assert f'href="/briefings/emails/{sent.pk}/"' in archive and "Long documents" in archive
    # The mail clients' inline styles stay in the email; the page, under the site's CSP
    # (style-src 'self', which would refuse each with a console error), has none.
    assert ' style="' in html
    assert ' style="' not in page


def test_another_user_gets_404_and_a_visitor_is_sent_to_log_in(
    sent: Delivery, client: Client
) -> None:
    other = signed_in(UserFactory.create(name="other"))
    response = other.get(f"/briefings/emails/{sent.pk}/")
    assert response.status_code == 404
    assert "Sparse attention" not in response.content.decode()
    assert "Long documents" not in other.get("/briefings/emails/").content.decode()
    for path in (f"/briefings/emails/{sent.pk}/", "/briefings/emails/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


# --- Bounces and complaints ------------------------------------------------------------------


def signed(event: dict[str, object], key: str = KEY) -> bytes:
    """A Mailgun tracking webhook body, signed with `key` as Mailgun signs it."""
    timestamp, token = "1768201200", "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    body = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": event,
    }
    return json.dumps(body).encode()


def failure(address: str, *, severity: str = "permanent", event: str = "failed") -> dict:
    return {
        "event": event,
        "severity": severity,
        "id": f"evt-{address}-{event}-{severity}",
        "timestamp": 1768201200.0,
        "recipient": address,
        "reason": "bounce",
        "delivery-status": {"code": 550, "description": "No such mailbox", "message": ""},
        "message": {"headers": {"message-id": "x@academichub.example"}},
    }


@pytest.fixture
def webhook(settings: Settings, live_server: LiveServer) -> str:
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": KEY}
    return f"{live_server.url}/webhooks/mailgun/tracking/"


def post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_signed_hard_bounce_stops_mail_to_the_address_and_the_reader_and_staff_see_it(
    webhook: str, no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source]
) -> None:
    reader, other = person("bounces", hour=7), person("fine", hour=7)
    radar = Radar.objects.create(owner=person("owner"), name="Long documents", public=True)
    matched(radar, [paper(src["cs"], "Sparse attention")], at=MORNING - timedelta(hours=1))
    for user in (reader, other):
        follow(user, radar)

    # A temporary failure changes nothing; a permanent one stops mail to the address.
    assert post(webhook, signed(failure(reader.email, severity="temporary"))).status_code == 200
    assert not SuppressedAddress.objects.exists()
    assert post(webhook, signed(failure(reader.email.upper()))).status_code == 200
    assert post(webhook, signed(failure(reader.email))).status_code == 200  # delivered twice

    [row] = SuppressedAddress.objects.all()
    assert (row.email, row.reason) == (reader.email, "bounced")
    with time_machine.travel(MORNING, tick=False):
        dispatch_due(now=MORNING)
    assert [m["To"] for m in smtp_sink.messages] == [other.email]
    settings_page = signed_in(reader).get("/settings/").content.decode()
    assert f"No briefing emails go to {reader.email}" in settings_page
    assert "hard bounce" in settings_page
    staff = UserFactory.create(name="staff", is_staff=True, is_superuser=True)
    listing = signed_in(staff).get("/admin/accounts/suppressedaddress/").content.decode()
    assert reader.email in listing


@pytest.mark.django_db(transaction=True)
def test_a_complaint_stops_mail_and_a_wrongly_signed_report_is_rejected(webhook: str) -> None:
    reader = person("complains", hour=7)

    forged = post(webhook, signed(failure(reader.email, event="complained"), key="wrong"))
    unsigned = post(webhook, json.dumps({"event-data": failure(reader.email)}).encode())

    assert forged.status_code == 400 and unsigned.status_code == 400
    assert not SuppressedAddress.objects.exists()
    assert post(webhook, signed(failure(reader.email, event="complained"))).status_code == 200
    assert SuppressedAddress.objects.get().reason == "complained"
    page = signed_in(reader).get("/settings/").content.decode()
    assert "reported as spam" in page


def test_without_a_signing_key_the_webhook_does_not_exist(settings: Settings) -> None:
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": ""}
    response = Client().post(
        "/webhooks/mailgun/tracking/", signed(failure("a@example.org")), "application/json"
    )
    assert response.status_code == 404
    assert not SuppressedAddress.objects.exists()
