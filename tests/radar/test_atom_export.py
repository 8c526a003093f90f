"""The radar's Atom feed as readers parse it: one <author> per author, a stable id, caching."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client

from radar.models import Match, Radar
from radar.services import radar_feed_token_set
from tests.factories import arxiv_paper, make_radar

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
MANY = [f"Author {n:02d}" for n in range(1, 15)]


@pytest.fixture
def radar(alice: User) -> Radar:
    radar = make_radar(alice)
    for title, authors in (("Many hands", MANY), ("Two hands", ["Jane Doe", "Guðmundur Ó"])):
        paper = arxiv_paper(title=title, authors=authors, announced=date(2024, 11, 28))
        Match.objects.create(radar=radar, paper=paper, score=1.0, reasons=[])
    radar_feed_token_set(radar, enabled=True)
    return radar


def _feed(client: Client, radar: Radar) -> ET.Element:
    return ET.fromstring(client.get(f"/radars/feed/{radar.feed_token}.atom").content)


def _authors(entry: ET.Element) -> list[str]:
    return [a.findtext(f"{ATOM}name") or "" for a in entry.findall(f"{ATOM}author")]


def test_each_author_has_an_author_element_up_to_ten_then_et_al(
    client: Client, radar: Radar
) -> None:
    entries = {e.findtext(f"{ATOM}title"): e for e in _feed(client, radar).findall(f"{ATOM}entry")}
    assert _authors(entries["Many hands"]) == [*MANY[:10], "et al."]
    assert _authors(entries["Two hands"]) == ["Jane Doe", "Guðmundur Ó"]


def test_the_feed_id_does_not_carry_the_token_and_survives_a_new_token(
    client: Client, radar: Radar
) -> None:
    first = _feed(client, radar).findtext(f"{ATOM}id") or ""
    old_token = radar.feed_token or ""
    radar_feed_token_set(radar, enabled=False)
    radar_feed_token_set(radar, enabled=True)
    radar.refresh_from_db()
    assert radar.feed_token != old_token
    second = _feed(client, radar).findtext(f"{ATOM}id") or ""
    assert old_token not in first and (radar.feed_token or "") not in second
    assert first == second == f"http://testserver/radars/{radar.pk}/#atom"


def test_the_feed_says_how_long_it_may_be_cached_privately(client: Client, radar: Radar) -> None:
    response = client.get(f"/radars/feed/{radar.feed_token}.atom")
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert directives == {"private", "max-age=900"}
