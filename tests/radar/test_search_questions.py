"""Questions in plain words and niche topics on /search: a question whose words no paper holds
all of finds the papers holding most of them, and says which; a question on a topic with one
paper finds it by meaning while a made-up word still finds nothing; a Chinese query's English
terms rank the paper holding all of them first."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

import feeds.search
from feeds.models import Paper
from feeds.search import papers_with_most
from radar.embedding import DIM
from radar.models import PaperEmbedding
from radar.search import meaning_floor
from tests.factories import PaperFactory, arxiv_paper
from tests.radar.test_band import vectors_at
from tests.radar.test_search import results, why_of

pytestmark = pytest.mark.django_db

EDGE = "Generative AI on the edge: LLM inference on Raspberry Pi clusters"
QUESTION = "can you run an LLM on a Raspberry Pi at the network edge?"


def test_a_question_no_paper_holds_all_of_finds_the_paper_holding_most_of_its_words(
    client: Client,
) -> None:
    arxiv_paper(title=EDGE, abstract="We deploy language models on cheap devices at the edge.")
    arxiv_paper(title="Raspberry Pi as a teaching tool", abstract="Students build robots.")
    arxiv_paper(title="Network coding", abstract="Throughput of wireless networks.")
    arxiv_paper(title="Protein folding", abstract="Nothing about computers.")

    titles, html = results(client, QUESTION)

    assert titles[0] == EDGE
    # "network" alone is too little of the question to count.
    assert "Network coding" not in titles and "Protein folding" not in titles
    why = why_of(html, EDGE)
    assert why.startswith("matches some of your words: ")
    assert set(why.split(": ", 1)[1].split(", ")) == {"LLM", "Raspberry", "Pi", "edge"}
    assert "No paper contains all your words; these contain most of them" in html
    assert "<mark>Raspberry</mark> <mark>Pi</mark>" in html


def test_the_reason_is_worded_in_chinese_for_a_chinese_reader(client: Client) -> None:
    arxiv_paper(title=EDGE, abstract="Language models at the edge.")
    client.cookies["lang"] = "zh-hans"

    _, html = results(client, QUESTION)

    assert "包含你的部分词语：" in html
    assert "没有论文包含你的全部词语；以下论文包含其中大部分词语，或含义相近。" in html


def test_papers_holding_all_the_words_still_come_first(client: Client) -> None:
    arxiv_paper(title="Raspberry Pi clusters for LLM inference at the network edge, run cheaply")
    arxiv_paper(title=EDGE, announced=date(2024, 11, 29))

    titles, html = results(client, QUESTION)

    assert titles == [
        "Raspberry Pi clusters for LLM inference at the network edge, run cheaply",
        EDGE,
    ]
    assert why_of(html, titles[0]) == "matches your words"
    assert "these contain most of them" not in html


def test_question_words_do_not_count(client: Client) -> None:
    arxiv_paper(title="A good way to do well", abstract="How can you tell what works?")
    arxiv_paper(title="Similarity of matrices", abstract="We measure how similar matrices are.")

    titles, _ = results(client, "what is a good way to measure how similar two matrices are?")

    assert titles == ["Similarity of matrices"]


def test_a_rare_word_weighs_more_than_common_ones(client: Client) -> None:
    for i in range(6):
        arxiv_paper(title=f"Kept without loss {i}", abstract="Data kept without compression.")
    arxiv_paper(title="Insulin stability", abstract="A gel protects proteins from heat.")

    titles, _ = results(client, "how can insulin be kept without a fridge?")

    assert titles[0] == "Insulin stability"


def test_search_syntax_keeps_its_meaning(client: Client) -> None:
    arxiv_paper(title=EDGE)

    # Quotes ask for the phrase: no paper holds it, so nothing is found by words.
    titles, _ = results(client, '"LLM on a Raspberry Pi at the network edge"')

    assert titles == []


def test_each_word_brings_only_its_newest_papers_so_a_common_word_costs_little(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each word's newest ANY_WORDS_EACH papers are weighed (100; 3 here): on a million papers
    # "network" alone would otherwise have every paper holding it read and weighed (21 s).
    monkeypatch.setattr(feeds.search, "ANY_WORDS_EACH", 3)
    studies = [
        arxiv_paper(title=f"Network study {i}", announced=date(2024, 11, 20 + i)) for i in range(6)
    ]
    edge = arxiv_paper(title=EDGE + " over the network", announced=date(2024, 1, 2))

    # Of the seven papers holding "network" (a word no paper holds weighs nothing), only the
    # newest three are read and weighed.
    found = papers_with_most([["network"], ["zebrafish"]], Paper.objects.all())
    assert [pid for pid, _ in found] == [p.id for p in studies[:2:-1]]

    with CaptureQueriesContext(connection) as queries:
        found = papers_with_most([["network"], ["Raspberry"]], Paper.objects.all())

    # A rare word brings every paper holding it, however old.
    assert found[0] == (edge.id, ["network", "Raspberry"])
    # One query, each word's candidates a bounded scan (a LIMIT each).
    [query] = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert plan.count("Limit") == 3  # two words' candidates, and the answer


def test_a_chinese_query_ranks_the_paper_holding_all_its_english_terms_first(
    client: Client,
) -> None:
    # 引力波黑洞: "gravitational waves" and "black hole" in the glossary.
    for i in range(8):
        arxiv_paper(
            title=f"Black hole spin {i}: black hole, black holes", announced=date(2024, 11, 29)
        )
    arxiv_paper(title="Gravitational wave detectors", announced=date(2024, 11, 29))
    both = arxiv_paper(
        title="Echoes in the ringdown",
        abstract="Gravitational waves from a binary black hole merger.",
        announced=date(2024, 1, 2),
    )

    titles, html = results(client, "引力波黑洞")

    assert titles[0] == both.title
    assert why_of(html, both.title) == (
        "matches its English terms: gravitational waves, black hole"
    )
    assert why_of(html, "Gravitational wave detectors") == (
        "matches its English terms: gravitational waves"
    )


# --- by meaning: the gate on a query's closeness to papers at large ------------------------


def _axis() -> np.ndarray:
    axis = np.zeros(DIM, dtype=np.float32)
    axis[0] = 1.0
    return axis


def _papers_at(cosines: np.ndarray) -> list[Paper]:
    rows = vectors_at(cosines.astype(np.float32), _axis(), np.random.default_rng(3))
    day = date(2024, 11, 28)
    papers = [
        PaperFactory.create(title=f"Paper {i}", announced=day - timedelta(days=i % 5))
        for i in range(len(rows))
    ]
    PaperEmbedding.objects.bulk_create(
        PaperEmbedding(paper=p, vector=v.tolist(), model="test")
        for p, v in zip(papers, rows, strict=True)
    )
    return papers


@pytest.fixture
def query_on_the_axis(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every query is embedded on the axis the test papers' cosines are measured from."""
    monkeypatch.setattr("radar.search.description_vector", lambda text: _axis())


def test_a_niche_question_finds_its_one_paper_by_meaning(
    client: Client, query_on_the_axis: None
) -> None:
    # As "how can insulin be kept without a fridge?" on the bundled samples: a crowd at
    # 0.78 (99th percentile 0.81, under SEMANTIC_P99_MIN), its one paper at 0.86.
    rng = np.random.default_rng(2)
    papers = _papers_at(np.concatenate([rng.normal(0.78, 0.012, 299), [0.86]]))

    titles, html = results(client, "how can a protein drug be kept cold?")

    assert titles[0] == papers[-1].title
    assert why_of(html, titles[0]) == "close in meaning (0.86)"


def test_a_made_up_word_still_finds_nothing_by_meaning(
    client: Client, query_on_the_axis: None
) -> None:
    # As "qwrtzp vlemk" or "knitting a wool sweater" on the bundled samples: a crowd at 0.78,
    # the closest at 0.835 (above the absolute floor and the 99th percentile, under
    # SEMANTIC_BEST_MIN).
    rng = np.random.default_rng(2)
    _papers_at(np.concatenate([rng.normal(0.78, 0.012, 297), [0.81, 0.82, 0.835]]))

    titles, html = results(client, "xyzzyqq")

    assert titles == []
    assert "No papers match your search." in html


def test_the_closest_paper_alone_does_not_open_the_gate_without_standing_out() -> None:
    # Everything close (a p99 just under SEMANTIC_P99_MIN) and the best at 0.85: not above
    # the crowd by SEMANTIC_BEST_ABOVE_P99.
    rng = np.random.default_rng(2)
    _papers_at(np.concatenate([rng.normal(0.81, 0.005, 299), [0.85]]))
    assert meaning_floor(_axis(), best=0.85) is None
    assert meaning_floor(_axis(), best=0.86) is not None


def test_a_lower_case_or_in_a_question_is_a_word_and_a_capital_or_the_operator(
    client: Client,
) -> None:
    shapley = arxiv_paper(
        title="Continuous Shapley values",
        abstract="Attributions for models whose inputs are curves.",
    )
    for i in range(4):
        arxiv_paper(title=f"Operator models for meromorphic functions {i}")

    titles, _html = results(
        client, "how can Shapley values explain models whose inputs are curves or functions?"
    )
    # Read as OR, "... or functions" found the papers about functions and not the Shapley one
    # (it lacks "explain"); as a word, no paper holds all the words and the one holding most
    # of them comes first.
    assert titles[0] == shapley.title

    either, _html = results(client, "Shapley OR meromorphic")
    assert set(either) == {
        shapley.title,
        *(f"Operator models for meromorphic functions {i}" for i in range(4)),
    }
