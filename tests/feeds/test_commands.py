"""The management commands of DESIGN §8: their arguments, their output, what they store."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_httpserver import HTTPServer

from feeds.models import Paper, PaperSighting, Source
from tests.conftest import FIXTURES
from tests.factories import SourceFactory
from tests.feeds.feedbuilder import arxiv_feed, arxiv_item

pytestmark = pytest.mark.django_db

FEEDS = FIXTURES / "feeds"
ARXIV_RSS = FEEDS / "arxiv-rss-all-archives-2024-11-28.xml"
SUMMARY_KEYS = ["entries", "created", "updated", "skipped", "errors", "warnings"]
EXPORT_FIELDS = [
    "key", "arxiv_id", "doi", "version", "announce_type", "title", "abstract", "authors",
    "primary_category", "categories", "announced", "year", "journal_ref", "journal_doi",
    "links", "sources",
]  # fmt: skip


def run(name: str, *args: str) -> str:
    """Run a management command; return what it printed."""
    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every printed line, each parsed as one JSON object."""
    return [json.loads(line) for line in output.splitlines()]


def ingest(kind: str, path: Path, *extra: str) -> dict[str, Any]:
    """`ingest` on a file, its embedding left to the workers (tests/radar/test_first_radar.py
    has the command embed); its one JSON summary line."""
    lines = json_lines(run("ingest", "--kind", kind, "--file", str(path), "--no-embed", *extra))
    assert len(lines) == 1
    return lines[0]


def write_feed(tmp_path: Path, name: str, body: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


# --- ingest --------------------------------------------------------------------------------


def test_ingest_prints_one_json_line_with_the_six_counts() -> None:
    summary = ingest("arxiv_rss", ARXIV_RSS)
    assert list(summary) == SUMMARY_KEYS
    assert summary == {
        "entries": 1504,
        "created": 1504,
        "updated": 0,
        "skipped": 0,
        "errors": 0,
        "warnings": 0,
    }
    assert Paper.objects.count() == 1504


def test_ingest_of_the_same_file_again_creates_nothing_and_skips_every_entry() -> None:
    ingest("arxiv_rss", ARXIV_RSS)
    again = ingest("arxiv_rss", ARXIV_RSS)
    assert again == {
        "entries": 1504,
        "created": 0,
        "updated": 0,
        "skipped": 1504,
        "errors": 0,
        "warnings": 0,
    }
    assert Paper.objects.count() == 1504


def test_ingest_with_a_source_records_the_papers_as_carried_by_that_source(
    tmp_path: Path,
) -> None:
    source = SourceFactory.create(slug="arxiv-cs-cl", label="arXiv (cs.CL)")
    feed = write_feed(
        tmp_path, "cl.xml", arxiv_feed(arxiv_item("2411.00001"), arxiv_item("2411.00002"))
    )
    assert ingest("arxiv_rss", feed, "--source", "arxiv-cs-cl")["created"] == 2
    carried = PaperSighting.objects.filter(source=source)
    assert sorted(carried.values_list("paper__key", flat=True)) == ["2411.00001", "2411.00002"]
    assert PaperSighting.objects.count() == 2


def test_ingest_with_an_unknown_source_is_an_error_and_stores_nothing() -> None:
    with pytest.raises(CommandError, match="no-such-source"):
        run("ingest", "--kind", "arxiv_rss", "--file", str(ARXIV_RSS), "--source", "no-such-source")
    assert Paper.objects.count() == 0


def test_ingest_of_arxivs_error_feed_is_an_error_naming_the_reason_and_stores_nothing() -> None:
    out = io.StringIO()
    error_feed = FEEDS / "arxiv-rss-error-bad-archive.xml"
    with pytest.raises(CommandError, match="error_feed: Bad archive 'astroph'"):
        call_command("ingest", "--kind", "arxiv_rss", "--file", str(error_feed), stdout=out)
    assert json_lines(out.getvalue()) == [
        {"entries": 0, "created": 0, "updated": 0, "skipped": 0, "errors": 1, "warnings": 0}
    ]
    assert Paper.objects.count() == 0


def test_ingest_of_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        run("ingest", "--kind", "rss", "--file", str(tmp_path / "absent.xml"))


@pytest.mark.parametrize(
    ("kind", "filename", "count"),
    [
        ("arxiv_api", "arxiv-api-query-testing-100.atom", 100),
        ("biorxiv_api", "biorxiv-api-details-interval-truncated.json", 3),
        ("rss", "nature-rss-2024-07-18.rdf", 75),
    ],
)
def test_ingest_reads_each_kind_of_saved_response(kind: str, filename: str, count: int) -> None:
    summary = ingest(kind, FEEDS / filename)
    assert summary == {
        "entries": count, "created": count, "updated": 0, "skipped": 0, "errors": 0, "warnings": 0,
    }  # fmt: skip
    assert Paper.objects.count() == count


def test_ingest_parses_the_file_as_the_given_kind_even_for_a_source_of_another_kind() -> None:
    # Backfilling the catalogue's arXiv (cs.CL) listing source from a saved arXiv API answer.
    SourceFactory.create(slug="arxiv-cs-cl", kind=Source.Kind.ARXIV_RSS)
    api_answer = FEEDS / "arxiv-api-query-testing-100.atom"
    ingest("arxiv_api", api_answer, "--source", "arxiv-cs-cl")
    recorded_for_the_source = exported_without_sources()
    Paper.objects.all().delete()
    ingest("arxiv_api", api_answer)
    assert exported_without_sources()["2202.12139"]["journal_ref"].startswith(
        "Artificial Intelligence in Software Testing"
    )
    assert recorded_for_the_source == exported_without_sources()


def exported_without_sources() -> dict[str, dict[str, Any]]:
    """Every exported paper by key, without the labels of the sources that carried it."""
    return {
        line["key"]: {k: v for k, v in line.items() if k != "sources"}
        for line in json_lines(run("export_papers"))
    }


# --- export_papers -------------------------------------------------------------------------


def test_export_prints_one_object_per_paper_with_exactly_the_stable_field_names(
    tmp_path: Path,
) -> None:
    feed = write_feed(
        tmp_path, "f.xml", arxiv_feed(arxiv_item("2411.00001"), arxiv_item("2411.00002"))
    )
    ingest("arxiv_rss", feed)
    lines = json_lines(run("export_papers"))
    assert sorted(line["key"] for line in lines) == ["2411.00001", "2411.00002"]
    for line in lines:
        # The ingest handed the papers on: each has its card asked for (made by the workers).
        assert list(line) == [*EXPORT_FIELDS, "card"]
        assert line["card"]["status"] == "pending"
        assert set(line["links"]) <= {"abs", "pdf", "html", "doi"}


def test_export_of_a_real_arxiv_paper_carries_its_values() -> None:
    ingest("arxiv_rss", ARXIV_RSS)
    [paper] = json_lines(run("export_papers", "--key", "2411.17702"))
    assert paper["key"] == paper["arxiv_id"] == "2411.17702"
    assert paper["title"] == (
        'Finding "Good Views" of Electrocardiogram Signals for Inferring Abnormalities '
        "in Cardiac Condition"
    )
    assert paper["authors"] == ["Hyewon Jeong", "Suyeol Yun", "Hammaad Adam"]
    assert paper["primary_category"] == "eess.SP"
    assert paper["categories"] == ["eess.SP", "cs.LG"]
    assert (paper["version"], paper["announce_type"]) == (1, "new")
    assert paper["announced"] == "2024-11-28"
    assert paper["year"] == 2024
    assert paper["doi"] == paper["journal_doi"] == paper["journal_ref"] == ""
    assert paper["links"]["abs"] == "https://arxiv.org/abs/2411.17702"
    assert paper["links"]["pdf"] == "https://arxiv.org/pdf/2411.17702v1"
    assert "doi" not in paper["links"]
    assert not paper["abstract"].startswith("arXiv:")
    assert paper["sources"] == ["arxiv_rss (file)"]


def test_export_lists_every_source_that_carried_the_paper(tmp_path: Path) -> None:
    SourceFactory.create(slug="cl", label="arXiv (cs.CL)")
    SourceFactory.create(slug="ai", label="arXiv (cs.AI)")
    feed = write_feed(
        tmp_path, "f.xml", arxiv_feed(arxiv_item("2411.00001", categories=("cs.CL", "cs.AI")))
    )
    ingest("arxiv_rss", feed, "--source", "cl")
    ingest("arxiv_rss", feed, "--source", "ai")
    [paper] = json_lines(run("export_papers"))
    assert paper["sources"] == ["arXiv (cs.AI)", "arXiv (cs.CL)"]


def test_export_filters_by_repeated_key_and_by_source(tmp_path: Path) -> None:
    SourceFactory.create(slug="cl", label="arXiv (cs.CL)")
    SourceFactory.create(slug="ai", label="arXiv (cs.AI)")
    cl_feed = arxiv_feed(arxiv_item("2411.00001"), arxiv_item("2411.00002"))
    ai_feed = arxiv_feed(arxiv_item("2411.00002"), arxiv_item("2411.00003"))
    ingest("arxiv_rss", write_feed(tmp_path, "cl.xml", cl_feed), "--source", "cl")
    ingest("arxiv_rss", write_feed(tmp_path, "ai.xml", ai_feed), "--source", "ai")

    def keys(*args: str) -> list[str]:
        return sorted(line["key"] for line in json_lines(run("export_papers", *args)))

    assert keys() == ["2411.00001", "2411.00002", "2411.00003"]
    assert keys("--key", "2411.00001", "--key", "2411.00003") == ["2411.00001", "2411.00003"]
    assert keys("--source", "ai") == ["2411.00002", "2411.00003"]
    assert keys("--source", "cl", "--key", "2411.00002") == ["2411.00002"]
    assert keys("--key", "no-such-paper") == []
    # Filtering by one source still lists every source that carried the paper.
    [shared] = json_lines(run("export_papers", "--source", "ai", "--key", "2411.00002"))
    assert shared["sources"] == ["arXiv (cs.AI)", "arXiv (cs.CL)"]


def test_export_queries_grow_with_chunks_of_a_thousand_papers_not_with_each_paper(
    tmp_path: Path,
) -> None:
    ten_papers = arxiv_feed(*(arxiv_item(f"2411.9{n:04d}") for n in range(10)))
    ingest("arxiv_rss", write_feed(tmp_path, "ten.xml", ten_papers))
    with CaptureQueriesContext(connection) as ten:
        assert len(run("export_papers").splitlines()) == 10
    Paper.objects.all().delete()
    ingest("arxiv_rss", ARXIV_RSS)
    with CaptureQueriesContext(connection) as all_of_them:
        assert len(run("export_papers").splitlines()) == 1504
    # One cursor over the papers and one sightings query per chunk of 1000 papers (the chunks
    # bound the command's memory): 1504 papers cost at most one query more than 10.
    assert len(all_of_them) <= len(ten) + 1


# --- seed_sources --------------------------------------------------------------------------

CATALOGUE = {
    "arxiv-cs-ai": "arXiv (cs.AI)",
    "arxiv-cs-cl": "arXiv (cs.CL)",
    "arxiv-cs-cv": "arXiv (cs.CV)",
    "arxiv-cs-lg": "arXiv (cs.LG)",
    "arxiv-cs-ir": "arXiv (cs.IR)",
    "arxiv-cs-cy": "arXiv (cs.CY)",
    "arxiv-stat-ml": "arXiv (stat.ML)",
    "arxiv-quant-ph": "arXiv (quant-ph)",
    "arxiv-math-pr": "arXiv (math.PR)",
    "arxiv-q-bio": "arXiv (q-bio)",
    "biorxiv": "bioRxiv",
    "medrxiv": "medRxiv (Medicine)",
    "nature": "Nature",
    "science": "Science",
    "plos-medicine": "PLOS Medicine",
    "cell": "Cell",
    "nejm": "NEJM",
}


def test_seed_sources_creates_the_catalogue_with_user_facing_labels() -> None:
    output = run("seed_sources")
    labels = dict(Source.objects.values_list("slug", "label"))
    assert labels.items() >= CATALOGUE.items()
    assert output.strip() == f"sources: {len(labels)} created, 0 already present"
    assert Source.objects.get(slug="arxiv-cs-cl").url == "https://rss.arxiv.org/rss/cs.CL"
    assert Source.objects.get(slug="medrxiv").kind == Source.Kind.MEDRXIV_API
    assert Source.objects.get(slug="nature").kind == Source.Kind.RSS
    assert all(Source.objects.values_list("enabled", flat=True))


def test_seed_sources_twice_creates_nothing_new_and_keeps_staff_edits() -> None:
    run("seed_sources")
    count = Source.objects.count()
    Source.objects.filter(slug="nature").update(label="Nature (weekly)", enabled=False)
    output = run("seed_sources")
    assert output.strip() == f"sources: 0 created, {count} already present"
    assert Source.objects.count() == count
    nature = Source.objects.get(slug="nature")
    assert (nature.label, nature.enabled) == ("Nature (weekly)", False)


# --- demo ----------------------------------------------------------------------------------


def test_demo_loads_the_bundled_samples_into_disabled_sample_sources() -> None:
    output = run("demo")
    carried = {
        slug: PaperSighting.objects.filter(source__slug=slug).count()
        for slug in ("sample-arxiv", "sample-nature", "sample-biorxiv")
    }
    assert carried["sample-arxiv"] > 1500
    assert (carried["sample-nature"], carried["sample-biorxiv"]) == (75, 3)
    assert Paper.objects.count() == sum(carried.values())
    samples = Source.objects.filter(slug__startswith="sample-")
    assert samples.count() == 3
    assert not samples.filter(enabled=True).exists()
    assert len(output.splitlines()) == 3


def test_demo_if_empty_loads_nothing_when_papers_are_present(tmp_path: Path) -> None:
    ingest("arxiv_rss", write_feed(tmp_path, "f.xml", arxiv_feed(arxiv_item("2411.00001"))))
    output = run("demo", "--if-empty")
    assert "nothing loaded" in output
    assert Paper.objects.count() == 1
    assert not Source.objects.filter(slug__startswith="sample-").exists()


# --- poll ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("loopback_fetch")
def test_poll_one_source_prints_its_status_and_counts(httpserver: HTTPServer) -> None:
    SourceFactory.create(slug="cl", url=httpserver.url_for("/rss/cs.CL"))
    httpserver.expect_request("/rss/cs.CL").respond_with_data(
        arxiv_feed(arxiv_item("2411.00001"), arxiv_item("2411.00002")),
        content_type="application/rss+xml",
    )
    [line] = json_lines(run("poll", "--source", "cl"))
    assert line == {
        "source": "cl", "status": "ok",
        "entries": 2, "created": 2, "updated": 0, "skipped": 0, "errors": 0, "warnings": 0,
    }  # fmt: skip
    assert Paper.objects.count() == 2


@pytest.mark.usefixtures("loopback_fetch")
def test_poll_of_a_failing_source_prints_the_error_kind_and_fails(httpserver: HTTPServer) -> None:
    source = SourceFactory.create(slug="down", url=httpserver.url_for("/rss/cs.CL"))
    httpserver.expect_request("/rss/cs.CL").respond_with_data("down", status=503)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 sources failed"):
        call_command("poll", "--source", "down", stdout=out)
    [line] = json_lines(out.getvalue())
    assert (line["source"], line["status"], line["kind"]) == ("down", "error", "http_5xx")
    assert "503" in line["error"]
    source.refresh_from_db()
    assert source.error_count == 1


def test_poll_of_an_unknown_source_is_an_error() -> None:
    with pytest.raises(CommandError, match="no-such-source"):
        run("poll", "--source", "no-such-source")


@pytest.mark.usefixtures("loopback_fetch")
def test_poll_all_polls_every_enabled_source_and_skips_disabled_ones(
    httpserver: HTTPServer,
) -> None:
    SourceFactory.create(slug="cl", url=httpserver.url_for("/rss/cs.CL"))
    SourceFactory.create(slug="ai", url=httpserver.url_for("/rss/cs.AI"))
    SourceFactory.create(slug="off", url=httpserver.url_for("/rss/cs.LG"), enabled=False)
    httpserver.expect_request("/rss/cs.CL").respond_with_data(
        arxiv_feed(arxiv_item("2411.00001")), content_type="application/rss+xml"
    )
    httpserver.expect_request("/rss/cs.AI").respond_with_data(
        arxiv_feed(arxiv_item("2411.00002")), content_type="application/rss+xml"
    )
    lines = json_lines(run("poll", "--all"))
    assert sorted((line["source"], line["status"]) for line in lines) == [
        ("ai", "ok"),
        ("cl", "ok"),
    ]
    assert sorted(request.path for request, _ in httpserver.log) == ["/rss/cs.AI", "/rss/cs.CL"]
    assert sorted(Paper.objects.values_list("key", flat=True)) == ["2411.00001", "2411.00002"]
    assert Source.objects.get(slug="off").checked_at is None


def test_poll_needs_a_source_or_all() -> None:
    with pytest.raises(CommandError):
        run("poll")
