"""`GET /api/v1/briefings` and `/briefings/{id}`: the briefings of the token owner's radars
and followed topics, their themes citing papers by key; anyone else's are 404."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from pytest_django.fixtures import Settings

from api.tokens import token_create
from digests.briefings import briefing_ensure
from digests.models import Briefing
from radar.models import Radar
from tests.api.conftest import bearer
from tests.factories import follow, matched, paper, sources

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)


@pytest.fixture
def briefing(alice: Any, settings: Settings) -> Briefing:
    settings.LLM_BASE_URL = settings.LLM_API_KEY = ""  # built without a language model
    src = sources()
    radar = Radar.objects.create(owner=alice, name="Long documents")
    follow(alice, radar)
    papers = [
        paper(src["cs"], "Sparse attention for long documents"),
        paper(src["bio"], "Long-range attention over genome sequences"),
    ]
    matched(radar, papers, at=NOW - timedelta(hours=10))
    with time_machine.travel(NOW, tick=False):
        made = briefing_ensure(
            radar_id=radar.pk, cadence="day", period_start=date(2026, 1, 12), language="en", now=NOW
        )
    assert made is not None
    return made


def test_the_owner_lists_and_reads_a_briefing_citing_papers_by_key(
    api_client: Client, briefing: Briefing
) -> None:
    listed = api_client.get("/api/v1/briefings").json()
    assert [b["id"] for b in listed["briefings"]] == [briefing.pk]
    assert listed["briefings"][0]["radar"]["name"] == "Long documents"

    detail = api_client.get(f"/api/v1/briefings/{briefing.pk}").json()
    keys = {p["key"] for p in detail["papers"]}
    assert len(keys) == 2
    assert detail["themes"] and all(set(t["papers"]) <= keys for t in detail["themes"])


def test_another_users_briefing_is_404_and_not_listed(bob: Any, briefing: Briefing) -> None:
    _, secret = token_create(user=bob, name="bob")
    client = Client(headers=bearer(secret))
    assert client.get(f"/api/v1/briefings/{briefing.pk}").status_code == 404
    assert client.get("/api/v1/briefings").json()["briefings"] == []


def test_briefings_need_a_token(briefing: Briefing) -> None:
    assert Client().get(f"/api/v1/briefings/{briefing.pk}").status_code == 401
