"""GET /api/v1/papers and /api/v1/papers/{key}: filters, search, paging, export field names."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from feeds.models import Paper, PaperSighting, Source
from tests.factories import PaperFactory, SourceFactory

pytestmark = pytest.mark.django_db

LATEST = date(2024, 11, 28)
EARLIER = date(2024, 11, 27)


def keys(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [paper["key"] for paper in response.json()["papers"]]


def seen(paper: Paper, *sources: Source) -> Paper:
    for source in sources:
        PaperSighting.objects.create(paper=paper, source=source, announce_type=paper.announce_type)
    return paper


@pytest.fixture
def catalogue() -> dict[str, Any]:
    """Two days of papers from three sources, in several categories and announce types."""
    cs = SourceFactory.create(slug="arxiv-cs-cl", label="arXiv cs.CL")
    lg = SourceFactory.create(slug="arxiv-cs-lg", label="arXiv cs.LG")
    neuro = SourceFactory.create(slug="j-neuro", label="Journal of Neuroscience")
    new = seen(
        PaperFactory.create(announced=LATEST, primary_category="cs.CL", categories=["cs.CL"]), cs
    )
    cross = seen(
        PaperFactory.create(
            announced=LATEST,
            primary_category="cs.LG",
            categories=["cs.LG", "cs.CL"],
            announce_type="cross",
        ),
        lg,
    )
    replaced = seen(
        PaperFactory.create(
            announced=LATEST,
            primary_category="q-bio.NC",
            categories=["q-bio.NC"],
            announce_type="replace",
        ),
        cs,
        lg,
    )
    older = seen(
        PaperFactory.create(announced=EARLIER, primary_category="cs.CL", categories=["cs.CL"]),
        cs,
        neuro,
    )
    return {"new": new, "cross": cross, "replaced": replaced, "older": older}


def test_it_lists_the_latest_announcement_day_by_default(
    api_client: Client, catalogue: dict[str, Any]
) -> None:
    response = api_client.get("/api/v1/papers")

    assert keys(response) == [catalogue[k].key for k in ("new", "cross", "replaced")]
    body = response.json()
    assert (body["count_on_page"], body["page"], body["next_page"]) == (3, 1, None)


def test_it_filters_like_the_today_page(api_client: Client, catalogue: dict[str, Any]) -> None:
    key = {name: paper.key for name, paper in catalogue.items()}

    assert keys(api_client.get("/api/v1/papers", {"date": "2024-11-27"})) == [key["older"]]
    assert keys(api_client.get("/api/v1/papers", {"source": "arxiv-cs-cl"})) == [
        key["new"],
        key["replaced"],
    ]
    assert keys(api_client.get("/api/v1/papers", {"category": "cs.CL"})) == [
        key["new"],
        key["cross"],
    ]
    assert keys(api_client.get("/api/v1/papers", {"announce_type": "cross"})) == [key["cross"]]
    assert (
        keys(api_client.get("/api/v1/papers", {"source": "arxiv-cs-lg", "date": "2024-11-27"}))
        == []
    )
    assert keys(api_client.get("/api/v1/papers", {"source": "no-such-source"})) == []


def test_without_a_date_a_filter_shows_its_own_latest_day(
    api_client: Client, catalogue: dict[str, Any]
) -> None:
    # The journal carried nothing on the latest day; its newest papers are still found.
    assert keys(api_client.get("/api/v1/papers", {"source": "j-neuro"})) == [catalogue["older"].key]


def test_it_answers_an_empty_page_when_there_are_no_papers(api_client: Client) -> None:
    response = api_client.get("/api/v1/papers")

    assert response.json() == {"count_on_page": 0, "page": 1, "next_page": None, "papers": []}


def test_it_rejects_malformed_parameters(api_client: Client, catalogue: dict[str, Any]) -> None:
    for params in (
        {"date": "28/11/2024"},
        {"announce_type": "bogus"},
        {"page": "0"},
        {"page": "201"},
        {"page": "two"},
    ):
        assert api_client.get("/api/v1/papers", params).status_code == 422, params


def test_it_pages_by_fifty_without_counting_the_table(api_client: Client) -> None:
    papers = PaperFactory.create_batch(55, announced=LATEST)
    expected = [paper.key for paper in papers]

    first = api_client.get("/api/v1/papers").json()
    second = api_client.get("/api/v1/papers", {"page": 2}).json()
    third = api_client.get("/api/v1/papers", {"page": 3}).json()

    assert (first["count_on_page"], first["page"], first["next_page"]) == (50, 1, 2)
    assert (second["count_on_page"], second["page"], second["next_page"]) == (5, 2, None)
    assert (third["count_on_page"], third["next_page"], third["papers"]) == (0, None, [])
    assert [p["key"] for p in first["papers"] + second["papers"]] == expected


def test_search_ranks_title_matches_above_abstract_matches(api_client: Client) -> None:
    in_abstract = PaperFactory.create(
        title="Long documents, revisited", abstract="We add sparse attention to readers."
    )
    in_title = PaperFactory.create(
        title="Sparse attention for long documents", abstract="A method.", announced=EARLIER
    )
    apart = PaperFactory.create(title="Attention is rarely sparse", abstract="", announced=EARLIER)
    PaperFactory.create(title="Protein folding at scale", abstract="Nothing about it.")

    assert keys(api_client.get("/api/v1/papers", {"q": "sparse attention"})) == [
        in_title.key,
        apart.key,
        in_abstract.key,
    ]
    # websearch syntax: a quoted phrase, and a word to leave out.
    assert keys(api_client.get("/api/v1/papers", {"q": '"sparse attention"'})) == [
        in_title.key,
        in_abstract.key,
    ]
    assert set(keys(api_client.get("/api/v1/papers", {"q": "attention -rarely"}))) == {
        in_title.key,
        in_abstract.key,
    }


def test_search_keeps_the_filters_and_spans_all_days(
    api_client: Client, catalogue: dict[str, Any]
) -> None:
    catalogue["older"].title = "Dialogue state tracking"
    catalogue["older"].save()
    catalogue["cross"].title = "Dialogue policies"
    catalogue["cross"].save()

    assert set(keys(api_client.get("/api/v1/papers", {"q": "dialogue"}))) == {
        catalogue["older"].key,
        catalogue["cross"].key,
    }
    assert keys(api_client.get("/api/v1/papers", {"q": "dialogue", "source": "j-neuro"})) == [
        catalogue["older"].key
    ]
    assert keys(api_client.get("/api/v1/papers", {"q": "dialogue", "date": "2024-11-28"})) == [
        catalogue["cross"].key
    ]


def test_search_falls_back_to_substrings_for_chinese_and_stop_words(api_client: Client) -> None:
    chinese = PaperFactory.create(title="基于大语言模型的机器翻译", abstract="")
    phrase = PaperFactory.create(title="To be or not to be", abstract="")
    PaperFactory.create(title="Graph neural networks", abstract="")

    assert keys(api_client.get("/api/v1/papers", {"q": "语言模型"})) == [chinese.key]
    # Only stop words: the English parser keeps nothing, so the words are matched as text.
    assert keys(api_client.get("/api/v1/papers", {"q": "or not to"})) == [phrase.key]
    # Blank is no search at all: the latest day.
    assert len(keys(api_client.get("/api/v1/papers", {"q": "   "}))) == 3


def test_it_returns_one_paper_whose_doi_key_has_slashes(api_client: Client) -> None:
    paper = PaperFactory.create(key="10.1101/2024.11.28.625874/v2", arxiv_id="", doi="10.1101/x")

    response = api_client.get("/api/v1/papers/10.1101/2024.11.28.625874/v2")

    assert response.status_code == 200
    assert response.json()["key"] == paper.key


def test_an_unknown_key_is_a_json_404(api_client: Client) -> None:
    response = api_client.get("/api/v1/papers/10.9999/nope")

    assert response.status_code == 404
    assert response.json() == {"detail": "Paper not found."}


def test_papers_carry_exactly_the_export_papers_fields_and_values(
    api_client: Client, catalogue: dict[str, Any]
) -> None:
    paper = catalogue["replaced"]
    paper.doi = "10.48550/arXiv.2411.00003"
    paper.journal_ref = "Neural Computation 37 (2025)"
    paper.authors = ["Ada Lovelace", "Алан Тьюринг", "李白"]
    paper.links = {"abs": "https://arxiv.org/abs/x", "pdf": "https://arxiv.org/pdf/x", "extra": "y"}
    paper.save()
    out = StringIO()
    call_command("export_papers", "--key", paper.key, stdout=out)
    exported = json.loads(out.getvalue())

    listed = api_client.get("/api/v1/papers", {"source": "arxiv-cs-lg"}).json()["papers"]
    detail = api_client.get(f"/api/v1/papers/{paper.key}").json()

    assert [p for p in listed if p["key"] == paper.key] == [exported]
    assert detail == exported
    assert list(detail) == list(exported)
    assert exported["sources"] == ["arXiv cs.CL", "arXiv cs.LG"]


def _queries_for_a_page(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/papers")
    assert response.status_code == 200
    return len(queries)


def test_a_page_costs_the_same_queries_for_5_or_30_papers(api_client: Client) -> None:
    source = SourceFactory.create()
    api_client.get("/api/v1/papers")  # the first use of a token records it once
    for paper in PaperFactory.create_batch(5, announced=LATEST):
        seen(paper, source)
    five = _queries_for_a_page(api_client)
    for paper in PaperFactory.create_batch(25, announced=LATEST):
        seen(paper, source, SourceFactory.create())

    thirty = _queries_for_a_page(api_client)

    # The token, the latest day, the papers, their sightings with sources, their cards.
    assert five == thirty == 5


def test_a_search_page_costs_the_same_queries_for_5_or_30_matches(api_client: Client) -> None:
    api_client.get("/api/v1/papers")
    PaperFactory.create_batch(5, title="Attention again")
    with CaptureQueriesContext(connection) as five:
        assert api_client.get("/api/v1/papers", {"q": "attention"}).json()["count_on_page"] == 5
    PaperFactory.create_batch(25, title="Attention again")
    with CaptureQueriesContext(connection) as thirty:
        assert api_client.get("/api/v1/papers", {"q": "attention"}).json()["count_on_page"] == 30

    # The token, the tsquery check, the ranked ids, the papers, their sightings, their cards.
    assert len(five) == len(thirty) == 6


def test_a_paper_with_a_summary_card_carries_it_in_both_routes(
    api_client: Client, catalogue: dict[str, Any]
) -> None:
    from tests.factories import card_for

    paper = catalogue["new"]
    card_for(paper)
    detail = api_client.get(f"/api/v1/papers/{paper.key}").json()
    listed = {p["key"]: p for p in api_client.get("/api/v1/papers").json()["papers"]}

    assert detail["card"]["status"] == "done"
    assert set(detail["card"]["en"]) == {"tldr", "motivation", "method", "result", "conclusion"}
    assert detail["card"]["zh"]["tldr"] and detail["card"]["title_zh"]
    assert listed[paper.key]["card"] == detail["card"]
    assert all("card" not in p for key, p in listed.items() if key != paper.key)


def test_a_category_matches_biorxivs_lower_case_subjects(api_client: Client) -> None:
    paper = PaperFactory.create(primary_category="neuroscience", categories=["neuroscience"])

    assert keys(api_client.get("/api/v1/papers", {"category": "Neuroscience"})) == [paper.key]
