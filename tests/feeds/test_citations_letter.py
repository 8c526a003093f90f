"""Citations right to the letter: BibTeX and RIS of real recorded papers, read back with
bibtexparser and rispy, carry the paper's own year (never the year it was stored), name a
journal only when there is one, and agree with the paper page's Highwire tags."""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any

import pytest
import rispy
from bibtexparser.entrypoint import parse_string
from bibtexparser.middlewares import LatexDecodingMiddleware
from django.test import Client
from django.utils import timezone

from feeds.citations import bibtex, ris
from feeds.export import paper_export
from feeds.models import Paper
from feeds.pipeline.sanitise import paper_sanitise
from feeds.pipeline.upsert import papers_upsert
from feeds.reference import arxiv_id_date, parse_journal_ref
from feeds.selectors import papers_for_display
from feeds.sources import get_adapter
from tests.conftest import fixture_bytes
from tests.factories import SourceFactory, arxiv_paper

pytestmark = pytest.mark.django_db

ARXIV_FEED = "arxiv-rss-all-archives-2024-11-28.xml"


def load(kind: str, fixture: str, keys: set[str], **source: Any) -> list[Paper]:
    """The papers `keys` of a recorded response, stored as the pipeline stores them."""
    adapter = get_adapter(kind)
    wanted = []
    for raw in adapter.parse(fixture_bytes(fixture)).entries:
        paper = adapter.normalise(raw)
        if paper.key in keys:
            wanted.append(paper_sanitise(paper, fetched=timezone.localdate()))
    assert {p.key for p in wanted if p} == keys
    papers_upsert(SourceFactory.create(kind=kind, **source), [p for p in wanted if p])
    return list(Paper.objects.filter(key__in=keys).order_by("key"))


def bib_entry(paper: Paper) -> dict[str, Any]:
    """The paper's BibTeX, parsed: entry type, key and fields (TeX decoded to Unicode)."""
    text = bibtex([paper])
    library = parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert library.failed_blocks == [] and len(library.entries) == 1, text
    entry = library.entries[0]
    return {"ENTRYTYPE": entry.entry_type, "ID": entry.key} | {
        name: field.value for name, field in entry.fields_dict.items()
    }


def ris_record(paper: Paper) -> dict[str, Any]:
    [record] = rispy.loads(ris([paper]))
    return record


def meta(client: Client, paper: Paper, name: str) -> list[str]:
    html = client.get(f"/papers/{paper.key}/").content.decode()
    return re.findall(rf'<meta name="{name}" content="([^"]*)">', html)


# --- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arxiv_id", "year", "month"),
    [
        ("2411.01234", 2024, 11),
        ("1901.01108", 2019, 1),
        ("0704.0001", 2007, 4),
        ("hep-th/9901001", 1999, 1),
        ("math.GT/0309136", 2003, 9),
        ("astro-ph/0601001", 2006, 1),
    ],
)
def test_an_arxiv_id_gives_the_year_and_month(arxiv_id: str, year: int, month: int) -> None:
    day = arxiv_id_date(arxiv_id)
    assert day is not None and (day.year, day.month) == (year, month)


@pytest.mark.parametrize(
    ("text", "journal", "volume", "number", "pages", "year"),
    [
        ("Phys. Rev. Lett. 132, 123401 (2024)", "Phys. Rev. Lett.", "132", "", "123401", 2024),
        ("The Astrophysical Journal, 976(2), 225 (2024)", "The Astrophysical Journal", "976", "2", "225", 2024),
        ("Phys.Part.Nucl. 55, no.6 (2024) 1500--1505", "Phys.Part.Nucl.", "55", "6", "1500-1505", 2024),
        ("JCAP11(2024)045", "JCAP", "11", "", "045", 2024),
        ("Eur. Phys. J. C (2024) 84:1224", "Eur. Phys. J. C", "84", "", "1224", 2024),
        ("ActaAstron.56:1-50,2006", "ActaAstron.", "56", "", "1-50", 2006),
        ("Journal of Space Safety Engineering, Volume 11, Issue 3, September 2024, Pages 498-506",
         "Journal of Space Safety Engineering", "11", "3", "498-506", 2024),
        ("Physical Review B 82, 060515(R) (2010)", "Physical Review B", "82", "", "060515(R)", 2010),
        ("A&amp;A 691, A35 (2024)", "A&A", "691", "", "A35", 2024),
        ("Physical Review D (2024)", "Physical Review D", "", "", "", 2024),
    ],
)  # fmt: skip
def test_journal_references_from_arxiv_are_taken_apart(
    text: str, journal: str, volume: str, number: str, pages: str, year: int
) -> None:
    ref = parse_journal_ref(text)
    assert ref is not None
    assert (ref.journal, ref.volume, ref.number, ref.pages, ref.year) == (
        journal, volume, number, pages, year,
    )  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "2023 International Joint Conference on Neural Networks (IJCNN)",
        "In Proc. ACM SIGSOFT International Symposium on Software Testing and Analysis "
        "(ISSTA 2020), pages 14-26. ACM, 2020",
        "IEEE, 10.23919 (2024)",
        "Vol. 1 No. 1 (2024): AI-Linguistica",
        # A paper's state and conferences known by their acronyms, not journals.
        "Accepted at NeurIPS 2024",
        "Accepted to CVPR 2024",
        "Camera-ready version for ACL 2024",
        "ICLR 2025",
        "To appear in ICML 2024",
        "Submitted to Phys. Rev. D (2024)",
        "Under review at TMLR 2024",
        "Findings of EMNLP 2024",
        "AAAI-25",
        "KDD '24, August 25-29, 2024",
        "Proceedings of the 41st International Conference on Machine Learning, 2024",
        "NeurIPS 2024 Workshop on Foundation Models (2024)",
    ],
)
def test_conference_talks_and_unreadable_references_name_no_journal(text: str) -> None:
    assert parse_journal_ref(text) is None


@pytest.mark.parametrize(
    ("text", "journal"),
    [
        ("Published in Transactions on Machine Learning Research (2024)",
         "Transactions on Machine Learning Research"),
        ("Oral Oncology 150, 106712 (2024)", "Oral Oncology"),
        ("Proc. Natl. Acad. Sci. 121, e2400001 (2024)", "Proc. Natl. Acad. Sci."),
        ("Proceedings Royal Society A, 480:20230941, 2024", "Proceedings Royal Society A"),
    ],
)  # fmt: skip
def test_journals_whose_names_sound_like_a_talk_are_still_journals(text: str, journal: str) -> None:
    ref = parse_journal_ref(text)
    assert ref is not None and ref.journal == journal


def test_a_paper_accepted_at_a_conference_is_cited_as_its_preprint() -> None:
    paper = arxiv_paper(
        key="2411.00003", arxiv_id="2411.00003", journal_ref="Accepted at NeurIPS 2024"
    )
    entry = bib_entry(paper)
    assert entry["ENTRYTYPE"] == "misc" and "journal" not in entry
    assert (entry["eprint"], entry["year"]) == ("2411.00003", "2024")
    record = ris_record(paper)
    assert record["type_of_reference"] == "UNPB" and "journal_name" not in record


# --- the recorded papers -------------------------------------------------------------------


def test_a_new_arxiv_paper_is_a_misc_eprint_of_its_own_month(client: Client) -> None:
    [paper] = load("arxiv_rss", ARXIV_FEED, {"2411.17700"})
    # Stored two years after it was announced: the year of storage must not leak in.
    assert paper.created_at.year == timezone.now().year != 2024
    entry = bib_entry(paper)
    assert entry["ENTRYTYPE"] == "misc"
    assert (entry["year"], entry["month"]) == ("2024", "nov")
    assert (entry["eprint"], entry["archivePrefix"], entry["primaryClass"]) == (
        "2411.17700", "arXiv", paper.primary_category,
    )  # fmt: skip
    assert "journal" not in entry and "howpublished" not in entry
    assert entry["ID"] == "cui2024exploring"
    record = ris_record(paper)
    assert record["type_of_reference"] == "UNPB"
    assert (record["year"], record["date"], record["publisher"]) == ("2024", "2024/11", "arXiv")
    assert "journal_name" not in record
    assert meta(client, paper, "citation_publication_date") == ["2024/11"]
    assert meta(client, paper, "citation_online_date") == ["2024/11/28"]
    assert meta(client, paper, "citation_journal_title") == []


def test_a_replaced_v5_keeps_the_year_of_its_first_version(client: Client) -> None:
    [paper] = load("arxiv_rss", ARXIV_FEED, {"1901.01108"})
    assert (paper.version, paper.announce_type, paper.announced) == (
        5,
        "replace",
        date(2024, 11, 28),
    )
    entry = bib_entry(paper)
    assert (entry["year"], entry["month"]) == ("2019", "jan")
    assert entry["ID"].startswith(re.sub(r"\W", "", paper.authors[0].split()[-1]).lower() + "2019")
    record = ris_record(paper)
    assert (record["year"], record["date"]) == ("2019", "2019/01")
    assert meta(client, paper, "citation_publication_date") == ["2019/01"]
    html = client.get(f"/papers/{paper.key}/").content.decode()
    assert re.search(r"<dt>Submitted</dt><dd><time datetime=\"2019-01\">January 2019</time>", html)
    assert re.search(
        r"<dt>Announced</dt><dd><time datetime=\"2024-11-28\">Nov\. 28, 2024</time>", html
    )
    assert "<dt>Published</dt>" not in html


def test_a_preprint_with_a_journal_reference_is_cited_as_the_journal_article(
    client: Client,
) -> None:
    paper, later = load("arxiv_rss", ARXIV_FEED, {"2411.18167", "2411.18411"})
    assert paper.journal_ref == "Nat. Commun. 15, 3495 (2024)"
    entry = bib_entry(paper)
    assert entry["ENTRYTYPE"] == "article"
    assert (entry["journal"], entry["volume"], entry["pages"], entry["year"]) == (
        "Nat. Commun.", "15", "3495", "2024",
    )  # fmt: skip
    assert entry["eprint"] == "2411.18167"  # the preprint stays findable
    record = ris_record(paper)
    assert record["type_of_reference"] == "JOUR"
    assert (record["journal_name"], record["secondary_title"]) == ("Nat. Commun.", "Nat. Commun.")
    assert (record["volume"], record["start_page"], record["year"]) == ("15", "3495", "2024")
    assert meta(client, paper, "citation_journal_title") == ["Nat. Commun."]
    assert meta(client, paper, "citation_volume") == ["15"]
    assert meta(client, paper, "citation_firstpage") == ["3495"]
    assert meta(client, paper, "citation_publication_date") == ["2024"]
    # Posted to arXiv in November 2024, printed in Physica Scripta's 2023 volume 98: the
    # article is cited with its volume's year, as INSPIRE does.
    assert later.journal_ref == "Physica Scripta 98, 085314 (2023)"
    entry = bib_entry(later)
    assert (entry["journal"], entry["volume"], entry["year"]) == ("Physica Scripta", "98", "2023")
    assert meta(client, later, "citation_publication_date") == ["2023"]
    assert "Physica Scripta 98" not in bibtex([paper, later]).split("note")[0]


def test_a_journal_reference_that_names_no_journal_is_a_note_not_a_journal() -> None:
    [paper] = load("arxiv_rss", ARXIV_FEED, {"2411.18388"})
    assert paper.journal_ref == "2023 International Joint Conference on Neural Networks (IJCNN)"
    entry = bib_entry(paper)
    assert entry["ENTRYTYPE"] == "misc" and "journal" not in entry
    assert entry["note"] == paper.journal_ref
    assert entry["year"] == "2024"
    record = ris_record(paper)
    assert record["type_of_reference"] == "UNPB" and record["notes"] == [paper.journal_ref]


def test_an_old_style_arxiv_id_is_cited_from_its_own_year(client: Client) -> None:
    [paper] = load(
        "arxiv_api", "arxiv-api-idlist-oldstyle-id.atom", {"astro-ph/0601001"}
    )  # fmt: skip
    entry = bib_entry(paper)
    # Its journal reference (Acta Astronomica 56, 2006) agrees with the id: January 2006.
    assert (entry["ENTRYTYPE"], entry["journal"], entry["year"]) == (
        "article",
        "ActaAstron.",
        "2006",
    )
    assert entry["eprint"] == "astro-ph/0601001"
    assert re.fullmatch(r"[a-z0-9]+", entry["ID"]) and entry["ID"].startswith("gould2006")
    paper.journal_ref = ""
    entry = bib_entry(paper)
    assert (entry["ENTRYTYPE"], entry["year"], entry["month"]) == ("misc", "2006", "jan")
    assert ris_record(paper)["date"] == "2006/01/02"  # the API's first-version day, in that month


def test_tex_braces_ampersands_and_percent_signs_survive_the_round_trip() -> None:
    papers = load("arxiv_rss", ARXIV_FEED, {"2411.00071", "2411.18380", "2411.18331", "2307.10544"})
    text = bibtex(papers)
    library = parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert library.failed_blocks == [] and len(library.entries) == 4
    titles = {e.key: e.fields_dict["title"].value for e in library.entries}
    raw = parse_string(text)
    raw_titles = {e.key: e.fields_dict["title"].value for e in raw.entries}
    pcsa = next(k for k in titles if k.endswith("what"))
    assert titles[pcsa].startswith("What the %PCSA? Addressing Diversity")
    assert raw_titles[pcsa].startswith(r"{What the \%PCSA?")
    sok = next(k for k in titles if k.endswith("sok"))
    assert "Mapping Personal Attributes & Preferences" in titles[sok]
    assert r"Attributes \& Preferences" in raw_titles[sok] and "–" in raw_titles[sok]
    kagome = next(k for k in raw_titles if "chemostructural" in k)
    # Math stays TeX for LaTeX to typeset; the accent outside it became a letter.
    assert r"ZnCu$_3$(OH)$_6$Cl$_2$ and YCu$_3$(OH)$_{6}$Br$_{2}$" in raw_titles[kagome]
    assert "kagomé" in raw_titles[kagome]
    records = rispy.loads(ris(papers))
    assert {r["title"] for r in records} >= {
        "Design & Optimization of the HV divider for JUNO 20-inch PMT"
    }


def test_every_paper_of_a_whole_arxiv_feed_reads_back_from_bibtex() -> None:
    """`\\left\\{` closed by `\\right.` (2405.14568, 2411.17730): BibTeX counts the escaped
    brace and bibtexparser does not, so it is written `\\lbrace`, and the math's own pairs
    (`^{N}`) are kept."""
    adapter = get_adapter("arxiv_rss")
    parsed = [adapter.normalise(raw) for raw in adapter.parse(fixture_bytes(ARXIV_FEED)).entries]
    clean = [p for p in (paper_sanitise(p, fetched=timezone.localdate()) for p in parsed) if p]
    papers_upsert(SourceFactory.create(kind="arxiv_rss"), clean)
    papers = list(Paper.objects.order_by("key"))
    assert len(papers) == len({p.key for p in clean}) > 1000
    started = time.monotonic()
    text = bibtex(papers)
    took = time.monotonic() - started
    # Splitting into entries is where a brace miscounted fails; decoding the TeX as well
    # (LatexDecodingMiddleware) would take 17 s here and split the same way.
    library = parse_string(text)
    assert library.failed_blocks == []
    assert len(library.entries) == len(papers)
    raw = {e.fields_dict["eprint"].value: e for e in library.entries}
    game = raw["2405.14568"].fields_dict["abstract"].value
    assert r"\left\lbrace \begin{array}{ll} \Delta_{p}^{N}u=0" in game
    assert r"where $\Delta_{p}^{N}$ is the normalized $p$-Laplacian" in game
    schrodinger = raw["2411.17730"].fields_dict["abstract"].value
    assert r"\left\lbrace\begin{array}{l} i \partial_t u" in schrodinger
    assert r"$V(x):\mathbb{R}^4\rightarrow \mathbb{R}$ satisfies" in schrodinger
    print(f"\n{len(papers)} papers as BibTeX in {took:.2f} s, every entry read back")


def test_escaped_braces_and_a_stray_brace_leave_the_math_whole() -> None:
    paper = arxiv_paper(
        key="2411.00002",
        arxiv_id="2411.00002",
        title=r"Sets $\{x\}$ and {unclosed $\Delta_{p}^{N}$ with \{braces\} in text",
    )
    text = bibtex([paper])
    library = parse_string(text)
    assert library.failed_blocks == [] and len(library.entries) == 1, text
    title = library.entries[0].fields_dict["title"].value
    assert title == (
        r"{Sets $\lbrace x\rbrace$ and unclosed $\Delta_{p}^{N}$ with "
        r"\textbraceleft{}braces\textbraceright{} in text}"
    )


def test_a_biorxiv_preprint_is_cited_from_its_first_posting() -> None:
    papers = load(
        "biorxiv_api", "biorxiv-api-details-interval-truncated.json",
        {"10.64898/2026.07.13.738145", "10.64898/2025.12.19.695336"}, slug="biorxiv",
    )  # fmt: skip
    revised, first = papers  # ordered by key: 2025… then 2026…
    assert revised.version == 3 and revised.published is None
    entry = bib_entry(revised)
    # Version 3 was posted in July 2026; the DOI keeps the first posting, 19 Dec 2025.
    assert (entry["ENTRYTYPE"], entry["year"], entry["month"]) == ("misc", "2025", "dec")
    assert entry["howpublished"] == "bioRxiv" and "journal" not in entry
    assert ris_record(revised)["date"] == "2025/12/19"
    entry = bib_entry(first)
    assert (entry["year"], entry["month"], entry["doi"]) == ("2026", "jul", first.doi)
    record = ris_record(first)
    assert (record["type_of_reference"], record["publisher"], record["date"]) == (
        "UNPB", "bioRxiv", "2026/07/15",
    )  # fmt: skip


def test_a_nature_rss_item_is_an_article_in_nature_dated_by_the_journal(client: Client) -> None:
    [paper] = load(
        "rss", "nature-rss-2024-07-18.rdf", {"10.1038/s41586-024-07811-4"}, label="Nature"
    )  # fmt: skip
    entry = bib_entry(paper)
    assert (entry["ENTRYTYPE"], entry["journal"], entry["year"], entry["month"]) == (
        "article", "Nature", "2024", "jul",
    )  # fmt: skip
    # The title's <sub> is gone, in the export as on the page.
    assert entry["title"] == "Catalysis of an SN2 pathway by geometric preorganization"
    assert entry["doi"] == "10.1038/s41586-024-07811-4" and "eprint" not in entry
    record = ris_record(paper)
    assert (record["type_of_reference"], record["secondary_title"], record["date"]) == (
        "JOUR", "Nature", "2024/07/18",
    )  # fmt: skip
    assert meta(client, paper, "citation_journal_title") == ["Nature"]
    assert meta(client, paper, "citation_publication_date") == ["2024/07/18"]
    html = client.get(f"/papers/{paper.key}/").content.decode()
    assert re.search(r"<dt>Published</dt><dd><time datetime=\"2024-07-18\">", html)
    assert "<dt>Submitted</dt>" not in html


def test_the_paper_page_labels_its_dates_in_chinese_too(client: Client) -> None:
    paper = arxiv_paper(key="1901.01108", arxiv_id="1901.01108", version=5, announce_type="replace")
    html = client.get(f"/papers/{paper.key}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert re.search(r"<dt>提交日期</dt><dd><time datetime=\"2019-01\">2019年1月</time>", html)
    assert re.search(
        r"<dt>发布日期</dt><dd><time datetime=\"2024-11-28\">2024年11月28日</time>", html
    )


def test_exporting_many_papers_reads_their_sources_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    load("arxiv_rss", ARXIV_FEED, {"2411.17700", "1901.01108", "2411.18167"})
    load("rss", "nature-rss-2024-07-18.rdf", {"10.1038/s41586-024-07811-4"}, label="Nature")
    papers = list(Paper.objects.order_by("key"))
    with django_assert_num_queries(1):
        text = bibtex(papers)
    assert text.count("@article{") == 2 and text.count("@misc{") == 2
    papers = list(Paper.objects.order_by("key"))
    with django_assert_num_queries(1):
        assert len(rispy.loads(ris(papers))) == 4


def test_page_ranges_are_en_dashes_on_the_page_and_double_hyphens_in_bibtex(
    client: Client,
) -> None:
    [paper] = load("arxiv_rss", ARXIV_FEED, {"2411.18190"})
    assert paper.journal_ref == "Phys.Part.Nucl. 55, no.6 (2024) 1500--1505"
    assert "  pages = {1500--1505}," in bibtex([paper])
    record = ris_record(paper)
    assert (record["number"], record["start_page"], record["end_page"]) == ("6", "1500", "1505")
    html = client.get(f"/papers/{paper.key}/").content.decode()
    assert "<dd>Phys.Part.Nucl. 55, no.6 (2024) 1500–1505</dd>" in html
    assert meta(client, paper, "citation_lastpage") == ["1505"]


@pytest.mark.parametrize(
    ("key", "year"),
    [
        ("2411.17700", 2024),  # new: its own month
        ("1901.01108", 2019),  # a v5 replacement announced in 2024: its first version's year
        ("2411.18167", 2024),  # in Nat. Commun. 15 (2024)
        ("2411.18411", 2023),  # posted in 2024, printed in Physica Scripta's 2023 volume
    ],
)
def test_the_json_export_gives_the_year_bibtex_cites(key: str, year: int) -> None:
    load("arxiv_rss", ARXIV_FEED, {key})
    [paper] = papers_for_display(Paper.objects.filter(key=key))
    exported = paper_export(paper)
    assert exported["year"] == year == int(bib_entry(paper)["year"])
    assert exported["announced"] == "2024-11-28"
