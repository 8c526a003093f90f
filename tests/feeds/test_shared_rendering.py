"""What pages reuse between requests: a card's body (digests.fragments) and a visitor's front
page (feeds.views._digest_html). Reuse must never show a reader what is not theirs or an old
version of a paper or summary that changed."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from digests.models import Card
from radar.models import SavedPaper
from testkit.fake_llm import valid_card
from tests.factories import arxiv_paper, card_for, make_radar, make_user, matched, person, signed_in
from tests.pages import card_titles

pytestmark = pytest.mark.django_db


def rewritten_in_place(card: Card) -> dict[str, Any]:
    """`card` made a done LLM card, the same row updated (as a retry that succeeds does);
    returns its new text."""
    content = valid_card()
    card.status, card.en, card.zh, card.updated_at = (
        "done",
        content["en"],
        content["zh"],
        timezone.now(),
    )
    card.save()
    return content


def test_a_visitor_page_is_shared_but_never_served_to_a_signed_in_reader(client: Client) -> None:
    paper = arxiv_paper(title="Sparse attention for long documents")
    visitor = client.get("/").content.decode()
    assert "Log in to save" in visitor
    reader = make_user("reader@example.org")
    SavedPaper.objects.create(user=reader, paper=paper)
    mine = signed_in(reader).get("/").content.decode()
    assert 'aria-pressed="true"' in mine  # the reader's own star, not the visitor's page
    assert "Log in to save" not in mine
    assert 'aria-pressed="true"' not in Client().get("/").content.decode()


def test_a_summary_made_after_a_page_was_rendered_shows_to_the_next_reader(
    client: Client,
) -> None:
    paper = arxiv_paper(title="Sparse attention for long documents")
    reader = signed_in(make_user("reader@example.org"))
    assert "llm-card" not in reader.get("/").content.decode()
    card_for(paper)  # the body rendered a moment ago had no summary: a new key
    page = reader.get("/").content.decode()
    assert escape(valid_card()["en"]["tldr"]) in page


def test_a_summary_rewritten_in_place_replaces_the_reused_body(client: Client) -> None:
    paper = arxiv_paper(title="Sparse attention for long documents")
    card = card_for(paper, status="extractive", en={"tldr": "An extractive first sentence."})
    reader = signed_in(make_user("reader@example.org"))
    assert "An extractive first sentence." in reader.get("/").content.decode()
    content = rewritten_in_place(card)
    page = reader.get("/").content.decode()
    assert escape(content["en"]["tldr"]) in page
    assert "An extractive first sentence." not in page


def test_a_new_version_of_a_paper_replaces_the_reused_body(client: Client) -> None:
    paper = arxiv_paper(title="Sparse attention for long documents")
    reader = signed_in(make_user("reader@example.org"))
    assert card_titles(reader.get("/").content.decode()) == ["Sparse attention for long documents"]
    paper.title, paper.version, paper.updated_at = "Sparse attention, revised", 2, timezone.now()
    paper.save()
    assert card_titles(reader.get("/").content.decode()) == ["Sparse attention, revised"]


def test_staff_see_the_errors_of_a_card_that_readers_see_without_them(client: Client) -> None:
    paper = arxiv_paper(title="Sparse attention for long documents")
    card_for(paper, flags=["url"])
    reader = signed_in(make_user("reader@example.org"))
    assert "Removed from the model" not in reader.get("/").content.decode()
    staff = make_user("staff@example.org", is_staff=True)
    assert "Removed from the model" in signed_in(staff).get("/").content.decode()


def test_only_the_front_pages_own_addresses_are_kept_for_visitors(client: Client) -> None:
    arxiv_paper(title="Sparse attention for long documents")

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    first = queries("/")
    kept = queries("/")
    assert kept < first  # the digest itself was kept (its rows, papers and cards not read)
    # An address anyone can make up is rendered each time rather than filling the cache.
    made_up = [queries("/?utm_source=x") for _ in range(2)]
    assert made_up[0] == made_up[1] > kept


def test_a_search_result_keeps_its_highlights_and_reuses_only_a_current_summary(
    client: Client,
) -> None:
    # A search result's body is its own (highlights), the summary in it is shared.
    paper = arxiv_paper(title="Sparse attention for long documents")
    card = card_for(paper, status="extractive", en={"tldr": "An extractive first sentence."})
    reader = signed_in(make_user("reader@example.org"))
    assert "An extractive first sentence." in reader.get("/").content.decode()
    found = reader.get("/search/", {"q": "sparse attention"}).content.decode()
    assert "<mark>" in found
    assert "An extractive first sentence." in found
    content = rewritten_in_place(card)
    found = reader.get("/search/", {"q": "sparse attention"}).content.decode()
    assert escape(content["en"]["tldr"]) in found
    assert "An extractive first sentence." not in found
    assert "<mark>" in found


def test_a_reused_summary_never_crosses_summary_languages(client: Client) -> None:
    paper = arxiv_paper(title="Sparse attention for long documents")
    card_for(paper)
    content = valid_card()
    english, chinese = person("english"), person("chinese", card_language="zh")
    first = signed_in(english).get("/search/", {"q": "sparse attention"}).content.decode()
    assert escape(content["en"]["tldr"]) in first
    assert content["zh"]["tldr"] not in first
    second = signed_in(chinese).get("/search/", {"q": "sparse attention"}).content.decode()
    assert content["zh"]["tldr"] in second
    assert escape(content["en"]["tldr"]) not in second


def test_a_feed_reads_its_papers_sources_only_for_labels_it_renders_anew(client: Client) -> None:
    # The source label needs the paper's sightings: read for every paper at once when the
    # page renders the labels, not at all when it reuses them, never once per paper.
    reader = make_user("reader@example.org")
    radar = make_radar(reader, name="Attention")
    papers = [arxiv_paper(title=f"Sparse attention {n}") for n in range(3)]
    matched(radar, papers, at=timezone.now())
    page = signed_in(reader)

    def sightings_queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            html = page.get(f"/radars/{radar.pk}/").content.decode()
        return sum("feeds_papersighting" in q["sql"] for q in queries), html

    first, html = sightings_queries()
    assert first == 1
    assert html.count('class="paper-card__source">arXiv (cs.CL)</span>') == 3
    again, html = sightings_queries()
    assert again == 0
    assert html.count('class="paper-card__source">arXiv (cs.CL)</span>') == 3
