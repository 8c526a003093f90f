"""A radar's Atom feed behind a secret, revocable token URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Profile
from radar.models import Match, Radar
from radar.services import radar_feed_token_set
from tests.factories import arxiv_paper, make_radar

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def radar(alice: User) -> Radar:
    radar = make_radar(alice, name="Prompt <injection> & co")
    hostile = arxiv_paper(
        title="Prompt injection <script>alert(1)</script>",
        abstract="We inject <b>prompts</b> & more.",
        authors=["Jane Doe", "John Roe"],
        announced=date(2024, 11, 28),
    )
    older = arxiv_paper(title="An older match", announced=date(2024, 11, 27))
    Match.objects.create(
        radar=radar,
        paper=hostile,
        score=1.1,
        reasons=[["title", "prompt injection"], ["author", "Jane Doe"]],
    )
    Match.objects.create(radar=radar, paper=older, score=0.9, reasons=[["similar", 0.84]])
    radar_feed_token_set(radar, enabled=True)
    return radar


def test_the_feed_is_valid_atom_with_one_entry_per_match(client: Client, radar: Radar) -> None:
    response = client.get(f"/radars/feed/{radar.feed_token}.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "Prompt <injection> & co · AcademicHub radar"
    entries = root.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert titles == ["Prompt injection <script>alert(1)</script>", "An older match"]
    first = entries[0]
    link = first.find(f"{ATOM}link")
    assert link is not None and link.get("href", "").startswith("http://testserver/papers/")
    assert first.findtext(f"{ATOM}id")
    assert first.findtext(f"{ATOM}updated")


def test_entries_carry_authors_reasons_and_abstract_as_escaped_text(
    client: Client, radar: Radar
) -> None:
    root = ET.fromstring(client.get(f"/radars/feed/{radar.feed_token}.atom").content)
    summary = root.findall(f"{ATOM}entry")[0].find(f"{ATOM}summary")
    assert summary is not None and summary.get("type") == "html"
    html = summary.text or ""
    assert "<p>Authors: Jane Doe, John Roe</p>" in html
    assert (
        "Why this paper: title contains &#x27;prompt injection&#x27;; follows author Jane Doe"
        in html
    )
    # The feed's markup arrives as text, never as tags a reader would run or render.
    assert "We inject &lt;b&gt;prompts&lt;/b&gt; &amp; more." in html
    assert "<b>" not in html
    older = root.findall(f"{ATOM}entry")[1].find(f"{ATOM}summary")
    assert older is not None and "close to your description (0.84)" in (older.text or "")


def test_reasons_are_worded_in_the_owners_language(
    client: Client, alice: User, radar: Radar
) -> None:
    Profile.objects.update_or_create(user=alice, defaults={"language": "zh-hans"})
    root = ET.fromstring(client.get(f"/radars/feed/{radar.feed_token}.atom").content)
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-hans"


def test_the_feed_holds_at_most_fifty_entries(client: Client, radar: Radar) -> None:
    for i in range(55):
        Match.objects.create(radar=radar, paper=arxiv_paper(title=f"P{i}"), score=1.0)
    root = ET.fromstring(client.get(f"/radars/feed/{radar.feed_token}.atom").content)
    assert len(root.findall(f"{ATOM}entry")) == 50


def test_an_unknown_or_revoked_token_is_404(client: Client, radar: Radar) -> None:
    old = radar.feed_token
    assert client.get("/radars/feed/not-a-token.atom").status_code == 404
    radar_feed_token_set(radar, enabled=True)  # rotated: the old address stops working
    assert client.get(f"/radars/feed/{old}.atom").status_code == 404
    assert client.get(f"/radars/feed/{radar.feed_token}.atom").status_code == 200
    client_of_owner = Client()
    client_of_owner.force_login(radar.owner)
    client_of_owner.post(f"/radars/{radar.pk}/feed-token/", {"action": "off"})
    revoked = radar.feed_token
    radar.refresh_from_db()
    assert radar.feed_token is None
    assert client.get(f"/radars/feed/{revoked}.atom").status_code == 404


def test_another_user_cannot_turn_on_or_read_someone_elses_feed_address(
    bob: User, radar: Radar
) -> None:
    client = Client()
    client.force_login(bob)
    token = radar.feed_token
    assert client.post(f"/radars/{radar.pk}/feed-token/", {"action": "rotate"}).status_code == 404
    radar.refresh_from_db()
    assert radar.feed_token == token
    assert client.get(f"/radars/{radar.pk}/edit/").status_code == 404
