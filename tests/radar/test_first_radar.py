"""A first radar on a fresh install: papers are embedded as they arrive, radars or not, so
the live preview of the very first description already finds them."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from academichub.pipeline import papers_match
from api.tokens import token_create
from feeds.models import Paper
from radar.models import Match, PaperEmbedding, Radar
from radar.services import THRESHOLD_RANGE
from tests.conftest import fixture_bytes
from tests.factories import PaperFactory, make_user, signed_in

pytestmark = pytest.mark.django_db

# The lowest minimum score the form and the API take: the widest preview.
LOWEST = THRESHOLD_RANGE[0]
PLASTIC = "An engineered enzyme embedded into PLA to make self-biodegradable plastic"


def test_new_papers_are_embedded_before_any_radar_exists() -> None:
    papers = PaperFactory.create_batch(3)

    summary = papers_match([p.pk for p in papers])

    assert not Radar.objects.exists()
    assert summary["embedded"] == 3 and summary["radars"] == 0
    assert set(PaperEmbedding.objects.values_list("paper_id", flat=True)) == {p.pk for p in papers}
    # Embedded once: the same papers again cost nothing.
    assert papers_match([p.pk for p in papers])["embedded"] == 0


def test_the_demo_hands_every_sample_paper_to_the_embedding_stage(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("demo", stdout=StringIO())

    # (Without an LLM, the extractive cards' tasks go first: tests/digests/test_worker_first_minute.)
    # Each hand-over is `enqueue(task, *args)` after the commit (academichub.enqueue).
    matching = [callback for callback in callbacks if callback.args[0] is papers_match]
    handed = [paper_id for callback in matching for paper_id in callback.args[1]]
    assert sorted(handed) == sorted(Paper.objects.values_list("id", flat=True))
    assert len(handed) > 1000  # the three bundled feeds


@pytest.mark.parametrize(
    "description",
    [
        "Plastics that break down by themselves: enzymes built into biodegradable polymers.",
        "能自行降解的塑料：把酶嵌入可生物降解的聚合物中。",
    ],
    ids=["en", "zh"],
)
def test_a_first_radar_preview_finds_the_paper_its_description_is_about(
    nature_day: dict[str, str], description: str
) -> None:
    client = signed_in(make_user("first@example.org"))

    response = client.post(
        "/radars/preview/",
        {"name": "Plastics", "description": description, "threshold": f"{LOWEST:g}"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert PLASTIC in html
    # Among the first three cards of the preview.
    positions = sorted(html.find(title) for title in nature_day if title in html)
    assert html.find(PLASTIC) in positions[:3]
    assert not Match.objects.exists()


def test_the_api_preview_of_a_description_alone_ranks_the_paper_in_its_top_three(
    nature_day: dict[str, str],
) -> None:
    _, secret = token_create(user=make_user("script@example.org"), name="preview")
    response = Client(headers={"Authorization": f"Bearer {secret}"}).post(
        "/api/v1/radars/preview",
        {
            "description": "Plastics that break down by themselves: enzymes built into polymers.",
            "threshold": LOWEST,
            "days": 0,
        },
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    keys = [m["key"] for m in response.json()["matches"]]
    assert nature_day[PLASTIC] in keys[:3]


@pytest.mark.parametrize(
    "description",
    [
        "Plastics that break down by themselves: enzymes built into polymers.",
        "能自行降解的塑料：把酶嵌入可生物降解的聚合物中。",
    ],
    ids=["en", "zh"],
)
def test_a_day_loaded_by_the_ingest_command_is_in_the_preview_as_soon_as_it_returns(
    description: str, tmp_path: Path
) -> None:
    # A saved feed loaded by `manage.py ingest`, with no worker running: the command embeds
    # its papers itself, so a first radar's preview (here the API's) finds them at once.
    saved = tmp_path / "nature.rdf"
    saved.write_bytes(fixture_bytes("nature-rss-2024-07-18.rdf"))
    err = StringIO()
    call_command("ingest", "--kind", "rss", "--file", str(saved), stdout=StringIO(), stderr=err)
    created = Paper.objects.count()
    assert PaperEmbedding.objects.count() == created > 50
    assert f"ingest: {created} papers embedded" in err.getvalue()
    _, secret = token_create(user=make_user("script@example.org"), name="preview")

    response = Client(headers={"Authorization": f"Bearer {secret}"}).post(
        "/api/v1/radars/preview",
        {"description": description, "threshold": LOWEST},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    keys = [m["key"] for m in response.json()["matches"]]
    assert Paper.objects.get(title=PLASTIC).key in keys[:3]
