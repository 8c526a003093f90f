"""The arXiv RSS adapter, on the recorded 2024-11-28 all-archives feed and its siblings."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from feeds.sources import arxiv_rss
from feeds.sources.base import ErrorKind, FeedError, PaperIn
from feeds.sources.common import tex_to_unicode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
ALL_ARCHIVES = FIXTURES / "arxiv-rss-all-archives-2024-11-28.xml"


@pytest.fixture(scope="module")
def papers() -> list[PaperIn]:
    """Every item of the 1,504-item feed, normalised."""
    page = arxiv_rss.parse(ALL_ARCHIVES.read_bytes())
    return [arxiv_rss.normalise(entry) for entry in page.entries]


@pytest.fixture(scope="module")
def by_key(papers: list[PaperIn]) -> dict[str, PaperIn]:
    """The same papers by key."""
    return {paper.key: paper for paper in papers}


def _feed(items: str) -> bytes:
    """A small feed shaped like rss.arxiv.org's, around hand-written items."""
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
     version="2.0"><channel><title>math updates on arXiv.org</title>
<link>http://rss.arxiv.org/rss/math</link><description>math updates</description>
{items}</channel></rss>""".encode()


def _item(versioned_id: str, *, announce: str = "new", creator: str = "Ada Lovelace") -> str:
    """One hand-written item; the pubDate is late evening in New York, next day in UTC."""
    unversioned = versioned_id.rsplit("v", 1)[0]
    return f"""<item><title>A paper</title><link>https://arxiv.org/abs/{unversioned}</link>
<description>arXiv:{versioned_id} Announce Type: {announce} \nAbstract: We study $x&lt;y$.</description>
<guid isPermaLink="false">oai:arXiv.org:{versioned_id}</guid><category>math.AP</category>
<category>cs.NA</category><pubDate>Tue, 03 Dec 2024 03:00:00 +0000</pubDate>
<arxiv:announce_type>{announce}</arxiv:announce_type><dc:creator>{creator}</dc:creator></item>"""


def test_it_reads_every_item_of_the_day(papers: list[PaperIn]) -> None:
    assert len(papers) == 1504
    assert len({paper.key for paper in papers}) == 1504


def test_it_keeps_each_items_announce_type(papers: list[PaperIn]) -> None:
    assert Counter(paper.announce_type for paper in papers) == {
        "new": 926,
        "cross": 9,
        "replace": 569,
    }


def test_it_takes_the_version_from_the_guid(papers: list[PaperIn]) -> None:
    assert Counter(paper.version for paper in papers) == {1: 933, 2: 387, 3: 117, 4: 50, 5: 17}


def test_it_strips_the_announce_prefix_from_every_abstract(papers: list[PaperIn]) -> None:
    assert not [p.key for p in papers if p.abstract.startswith("arXiv:")]
    assert not [p.key for p in papers if "Announce Type:" in p.abstract]


def test_every_abstract_is_the_raw_description_after_the_prefix(papers: list[PaperIn]) -> None:
    # An independent reading of the same bytes: feedparser's URI resolver used to turn
    # `$\frac{1}{3}<s<1$` into `<s>` tags and `E&E` into `E&amp;E` in 12 of these abstracts.
    prefix = re.compile(r"^arXiv:(\S+)v\d+ Announce Type: \S+ \nAbstract: ")
    raw = {}
    for item in ET.parse(ALL_ARCHIVES).getroot().iter("item"):
        description = item.findtext("description") or ""
        match = prefix.match(description)
        assert match, description[:80]
        raw[match.group(1)] = description[match.end() :]

    assert {paper.key: paper.abstract for paper in papers} == raw


def test_it_keeps_tex_and_literal_angle_brackets_as_written(by_key: dict[str, PaperIn]) -> None:
    assert "where $\\frac{1}{3}<s<1$ and" in by_key["2411.17730"].abstract
    assert "Explore and Exploit (E&E)" in by_key["2411.17942"].abstract
    assert "within $\\Lambda$CDM" in by_key["2211.02603"].abstract


def test_it_splits_authors_without_breaking_affiliations(by_key: dict[str, PaperIn]) -> None:
    paper = by_key["2411.17753"]

    assert paper.authors == [
        "Aleteia Araujo",
        "Breno Costa",
        "Joao Bachiega Jr",
        "Leonardo R. Carvalho",
        "Rajkumar Buyya",
    ]
    assert paper.affiliations == [
        "University of Brasilia Brazil, The University of Melbourne Australia",
        "University of Brasilia Brazil",
        "University of Brasilia Brazil",
        "University of Brasilia Brazil",
        "The University of Melbourne Australia",
    ]


def test_it_turns_tex_accents_in_author_names_into_unicode(by_key: dict[str, PaperIn]) -> None:
    paper = by_key["2411.17748"]

    assert paper.authors == [
        "Mohammed Riadh Berramdane",
        "Alexandre Battiston",
        "Michele Bardi",
        "Nicolas Blet",
        "Benjamin Rémy",
        "Matthieu Urbain",
    ]
    assert paper.affiliations == ["IFPEN", "IFPEN", "IFPEN", "LEMTA", "LEMTA", "LEMTA"]
    assert paper.primary_category == "eess.SP"
    assert paper.categories == ["eess.SP", "cs.LG", "stat.ML"]
    assert (paper.journal_doi, paper.journal_ref) == ("", "")
    assert "doi" not in paper.links


def test_it_gives_empty_affiliations_where_none_are_written(by_key: dict[str, PaperIn]) -> None:
    paper = by_key["2411.17793"]

    assert paper.authors == ["Jiahuei Lin", "Dayi Lin", "Sky Zhang", "Ahmed E. Hassan"]
    assert paper.affiliations == ["Justina", "", "", ""]


def test_it_takes_the_first_of_a_repeated_journal_doi(by_key: dict[str, PaperIn]) -> None:
    # <arxiv:DOI>10.3847/1538-4357/ad8659 10.3847/1538-4357/ad8659</arxiv:DOI>
    paper = by_key["2411.17857"]

    assert paper.journal_doi == "10.3847/1538-4357/ad8659"
    assert paper.journal_ref == "The Astrophysical Journal, 976(2), 225 (2024)"
    assert paper.doi == ""
    assert paper.links["doi"] == "https://doi.org/10.3847/1538-4357/ad8659"
    assert len(paper.authors) == 18
    assert paper.authors[0] == "Sofia Z. Sheikh"
    assert paper.authors[-1] == "Brent J. Shapiro-Albert"


def test_it_reads_a_replacement_with_its_journal_reference(by_key: dict[str, PaperIn]) -> None:
    paper = by_key["2211.02603"]

    assert paper.arxiv_id == "2211.02603"
    assert paper.version == 4
    assert paper.announce_type == "replace"
    assert paper.title == (
        "Cosmic topology. Part I. Limits on orientable Euclidean manifolds from circle searches"
    )
    assert paper.primary_category == "astro-ph.CO"
    assert paper.categories == ["astro-ph.CO", "gr-qc", "hep-ph", "hep-th"]
    assert paper.authors[9] == "Özenç Güngör"
    assert len(paper.authors) == 12
    assert set(paper.affiliations) == {"COMPACT Collaboration"}
    assert paper.journal_doi == "10.1088/1475-7516/2023/01/030"
    assert paper.journal_ref == "JCAP 01 (2023) 030"
    assert paper.announced == date(2024, 11, 28)
    assert paper.links == {
        "abs": "https://arxiv.org/abs/2211.02603",
        "pdf": "https://arxiv.org/pdf/2211.02603v4",
        "html": "https://arxiv.org/html/2211.02603v4",
        "doi": "https://doi.org/10.1088/1475-7516/2023/01/030",
    }


def test_it_reads_a_cross_listing(by_key: dict[str, PaperIn]) -> None:
    paper = by_key["2405.12090"]

    assert (paper.announce_type, paper.version) == ("cross", 3)
    assert paper.primary_category == "physics.acc-ph"
    assert paper.categories == ["physics.acc-ph", "astro-ph.IM", "physics.optics"]
    assert paper.journal_doi == "10.1103/physrevaccelbeams.27.112802"


def test_it_dates_every_item_on_the_announce_day(papers: list[PaperIn]) -> None:
    assert {paper.announced for paper in papers} == {date(2024, 11, 28)}


def test_it_takes_the_announce_day_in_new_york_not_utc() -> None:
    page = arxiv_rss.parse(_feed(_item("2412.00001v1")))

    assert arxiv_rss.normalise(page.entries[0]).announced == date(2024, 12, 2)


def test_it_reads_old_style_ids_and_replace_cross_items() -> None:
    page = arxiv_rss.parse(_feed(_item("math/0601001v2", announce="replace-cross")))
    paper = arxiv_rss.normalise(page.entries[0])

    assert (paper.key, paper.arxiv_id, paper.version) == ("math/0601001", "math/0601001", 2)
    assert paper.announce_type == "replace-cross"
    assert paper.abstract == "We study $x<y$."
    assert paper.links["pdf"] == "https://arxiv.org/pdf/math/0601001v2"
    assert paper.links["abs"] == "https://arxiv.org/abs/math/0601001"


def test_it_splits_off_an_and_before_the_last_author() -> None:
    creator = "Ada Lovelace (Analytical Engines and Co), Alan Turing and Grace Hopper (Navy)"
    page = arxiv_rss.parse(_feed(_item("2412.00002v1", creator=creator)))
    paper = arxiv_rss.normalise(page.entries[0])

    assert paper.authors == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert paper.affiliations == ["Analytical Engines and Co", "", "Navy"]


@pytest.mark.parametrize(
    ("creators", "authors", "affiliations"),
    [
        ("A One, B Two, and C Three", ["A One", "B Two", "C Three"], ["", "", ""]),
        ("A One and B Two", ["A One", "B Two"], ["", ""]),
        ("Ann Anderson, Sandy Andrews", ["Ann Anderson", "Sandy Andrews"], ["", ""]),
        ("A One (Lab (North), Uni)", ["A One"], ["Lab (North), Uni"]),
        (" NOvA Collaboration, M. A. Acero", ["NOvA Collaboration", "M. A. Acero"], ["", ""]),
        ("", [], []),
    ],
)
def test_it_splits_creator_strings(
    creators: str, authors: list[str], affiliations: list[str]
) -> None:
    assert arxiv_rss.split_creators(creators) == (authors, affiliations)


def test_an_item_without_an_arxiv_id_is_refused_on_its_own() -> None:
    item = _item("2412.00003v1").replace("oai:arXiv.org:2412.00003v1", "tag:elsewhere")
    page = arxiv_rss.parse(_feed(item.replace("arxiv.org/abs/2412.00003", "example.org/x")))

    with pytest.raises(ValueError, match="no arXiv id"):
        arxiv_rss.normalise(page.entries[0])


def test_an_empty_day_is_an_empty_page_not_an_error() -> None:
    page = arxiv_rss.parse((FIXTURES / "arxiv-rss-empty-test-archive.xml").read_bytes())

    assert page.entries == []


def test_an_error_feed_raises_with_arxivs_reason() -> None:
    with pytest.raises(FeedError) as raised:
        arxiv_rss.parse((FIXTURES / "arxiv-rss-error-bad-archive.xml").read_bytes())

    assert raised.value.kind == ErrorKind.ERROR_FEED
    assert raised.value.message.startswith("Bad archive 'astroph'. Valid archive names are:")


def test_an_html_page_raises_html_not_feed() -> None:
    body = b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head></html>"

    with pytest.raises(FeedError) as raised:
        arxiv_rss.parse(body)

    assert raised.value.kind == ErrorKind.HTML_NOT_FEED


@pytest.mark.parametrize("body", [b"", b"\x00\xffnot a feed", b"<?xml version='1.0'?><a/>"])
def test_a_body_that_is_not_a_feed_raises_a_parse_error(body: bytes) -> None:
    with pytest.raises(FeedError) as raised:
        arxiv_rss.parse(body)

    assert raised.value.kind == ErrorKind.PARSE


def test_the_page_url_is_the_feed_url() -> None:
    url = "https://rss.arxiv.org/rss/cs.AI+q-bio.NC"

    assert arxiv_rss.page_url(url, offset=0, state={}, today=date(2024, 11, 28)) == url


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("Przemys{\\l}aw", "Przemysław"),
        ("Jaros{\\l}aw \\.Zygierewicz", "Jarosław Żygierewicz"),
        ("Fran\\c{c}ois", "François"),
        ("Erd\\H{o}s", "Erdős"),
        ("Ram\\'{\\i}rez", "Ramírez"),
        ('K\\"{o}nig', "König"),
        ("Plain Name", "Plain Name"),
    ],
)
def test_tex_accents_become_unicode(tex: str, text: str) -> None:
    assert tex_to_unicode(tex) == text
