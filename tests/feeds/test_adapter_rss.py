"""The journal RSS/Atom adapter, on the recorded Nature feed and hand-written PLOS/Science shapes."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from feeds.sources import rss
from feeds.sources.base import ErrorKind, FeedError, PaperIn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
NATURE = FIXTURES / "nature-rss-2024-07-18.rdf"
PRISM_DOI = "{http://prismstandard.org/namespaces/basic/2.0/}doi"


@pytest.fixture(scope="module")
def nature() -> dict[str, PaperIn]:
    """The 75 items of the recorded Nature feed, by key."""
    return {p.key: p for p in map(rss.normalise, rss.parse(NATURE.read_bytes()).entries)}


def _rss2(items: str) -> bytes:
    """A small RSS 2.0 document around hand-written items."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>AAAS: Science: Table of Contents</title><link>https://www.science.org</link>
<description>Science</description>{items}</channel></rss>""".encode()


PLOS_ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>PLOS Medicine: New Articles</title>
  <id>https://journals.plos.org/plosmedicine/feed/atom</id>
  <updated>2025-01-30T14:00:00Z</updated>
  <entry>
    <id>10.1371/journal.pmed.1004500</id>
    <title type="html">Effect of &lt;i&gt;X&lt;/i&gt; on &lt;i&gt;Y&lt;/i&gt;: a trial</title>
    <link rel="alternate" type="text/html"
          href="https://journals.plos.org/plosmedicine/article?id=10.1371/journal.pmed.1004500"/>
    <author><name>Jane Doe</name></author>
    <author><name>Wei Li</name></author>
    <published>2025-01-30T00:00:00Z</published>
    <updated>2025-01-30T00:00:00Z</updated>
    <content type="html">&lt;p&gt;by Jane Doe, Wei Li&lt;/p&gt;
&lt;p&gt;Background: We studied &lt;i&gt;X&lt;/i&gt; &amp;amp; Y.&lt;/p&gt;&lt;p&gt;Findings: It worked.&lt;/p&gt;</content>
  </entry>
</feed>"""


def test_it_reads_every_nature_item_keyed_on_its_prism_doi(nature: dict[str, PaperIn]) -> None:
    dois = [el.text.lower() for el in ET.parse(NATURE).getroot().iter(PRISM_DOI) if el.text]

    assert len(dois) == 75
    assert list(nature) == dois
    assert all(paper.doi == key for key, paper in nature.items())


def test_it_lists_every_dc_creator_as_an_author(nature: dict[str, PaperIn]) -> None:
    paper = nature["10.1038/s41586-024-07811-4"]

    assert paper.authors == ["Gabriel J. Lovinger", "Marcus H. Sak", "Eric N. Jacobsen"]
    assert paper.affiliations == ["", "", ""]


def test_items_without_a_creator_have_no_authors(nature: dict[str, PaperIn]) -> None:
    anonymous = {key: paper.authors for key, paper in nature.items() if not paper.authors}

    assert anonymous == {
        "10.1038/d41586-024-02230-x": [],
        "10.1038/d41586-024-02335-3": [],
        "10.1038/d41586-024-02307-7": [],
        "10.1038/d41586-024-02314-8": [],
    }


def test_titles_are_plain_text(nature: dict[str, PaperIn]) -> None:
    assert nature["10.1038/s41586-024-07811-4"].title == (
        "Catalysis of an SN2 pathway by geometric preorganization"
    )
    assert nature["10.1038/s41586-024-07553-3"].title == (
        "Superconductivity in pressurized trilayer La4Ni3O10−δ single crystals"
    )
    # Entities inside CDATA are HTML too: `&amp;` and a no-break space `&#xa0;`.
    assert nature["10.1038/d41586-024-02354-0"].title.startswith("AI & robotics briefing:")
    assert nature["10.1038/s41586-024-07624-5"].title == "Psilocybin desynchronizes the human brain"
    assert not [p.title for p in nature.values() if "<" in p.title or "&#" in p.title]


def test_it_keeps_the_html_abstract_beside_its_text(nature: dict[str, PaperIn]) -> None:
    paper = nature["10.1038/d41586-024-02321-9"]

    assert paper.abstract_html.startswith(
        '<p>Nature, Published online: 18 July 2024; <a href="https://www.nature.com/articles/'
    )
    assert paper.abstract == (
        "Nature, Published online: 18 July 2024; doi:10.1038/d41586-024-02321-9 Without "
        "up-to-date data on the population, scientists say studies on fertility, migration "
        "and health outcomes have become unreliable."
    )


def test_it_dates_and_links_each_item(nature: dict[str, PaperIn]) -> None:
    paper = nature["10.1038/s41586-024-07811-4"]

    assert (paper.announced, paper.published) == (date(2024, 7, 18), date(2024, 7, 18))
    assert paper.announce_type == "new"
    assert paper.links == {
        "abs": "https://www.nature.com/articles/s41586-024-07811-4",
        "doi": "https://doi.org/10.1038/s41586-024-07811-4",
    }
    assert min(p.announced for p in nature.values() if p.announced) == date(2024, 7, 11)


def test_an_html_page_instead_of_the_feed_raises_html_not_feed() -> None:
    body = (FIXTURES / "nature-rss-url-returned-html-not-found-2023-10-27.html").read_bytes()

    with pytest.raises(FeedError) as raised:
        rss.parse(body)

    assert raised.value.kind == ErrorKind.HTML_NOT_FEED


def test_a_plos_atom_entry_is_keyed_on_its_id_doi() -> None:
    paper = rss.normalise(rss.parse(PLOS_ATOM).entries[0])

    assert paper.key == paper.doi == "10.1371/journal.pmed.1004500"
    assert paper.title == "Effect of X on Y: a trial"
    assert paper.authors == ["Jane Doe", "Wei Li"]
    assert paper.abstract_html.startswith("<p>by Jane Doe, Wei Li</p>\n<p>Background: We studied")
    assert paper.abstract == (
        "by Jane Doe, Wei Li Background: We studied X & Y. Findings: It worked."
    )
    assert paper.announced == date(2025, 1, 30)
    assert paper.links == {
        "abs": "https://journals.plos.org/plosmedicine/article?id=10.1371/journal.pmed.1004500",
        "doi": "https://doi.org/10.1371/journal.pmed.1004500",
    }


def test_a_science_item_takes_its_doi_from_the_link_path() -> None:
    link = "https://www.science.org/doi/abs/10.1126/science.adw0379?af=R"
    body = _rss2(
        f"""<item><title>A &lt;i&gt;science&lt;/i&gt; paper</title><link>{link}</link>
        <description>Science, Volume 387, Issue 6732, Page 446-446, January 2025. </description>
        <guid isPermaLink="true">{link}</guid>
        <dc:creator>Ann Author</dc:creator><dc:creator>Bo Writer</dc:creator>
        <pubDate>Thu, 30 Jan 2025 06:00:00 GMT</pubDate></item>"""
    )

    paper = rss.normalise(rss.parse(body).entries[0])

    assert paper.key == paper.doi == "10.1126/science.adw0379"
    assert paper.title == "A science paper"
    assert paper.abstract == "Science, Volume 387, Issue 6732, Page 446-446, January 2025."
    assert paper.authors == ["Ann Author", "Bo Writer"]
    assert paper.announced == date(2025, 1, 30)
    assert paper.links["abs"] == link


def test_it_splits_a_comma_joined_author_element() -> None:
    body = _rss2(
        """<item><title>One</title><link>https://example.org/a</link>
        <author>Jane Doe, Wei Li, Ann Smith</author></item>
        <item><title>Two</title><link>https://example.org/b</link>
        <author>Doe, Jane</author></item>"""
    )

    first, second = (rss.normalise(entry) for entry in rss.parse(body).entries)

    assert first.authors == ["Jane Doe", "Wei Li", "Ann Smith"]
    assert second.authors == ["Doe, Jane"]


def test_without_a_doi_the_key_is_a_hash_of_the_link() -> None:
    link = "https://www.cell.com/cell/fulltext/S0092-8674(25)00001-2"
    body = _rss2(f"<item><title>Cell paper</title><link>{link}</link></item>")

    paper = rss.normalise(rss.parse(body).entries[0])

    assert paper.key == "link:" + hashlib.sha256(link.encode()).hexdigest()[:32]
    assert paper.doi == ""
    assert paper.links == {"abs": link}
    assert paper.announced is None


def test_it_keeps_a_javascript_link_as_given() -> None:
    body = _rss2("<item><title>Odd</title><link>javascript:alert(1)</link></item>")

    paper = rss.normalise(rss.parse(body).entries[0])

    assert paper.links == {"abs": "javascript:alert(1)"}


def test_a_truncated_document_gives_what_could_be_recovered(nature: dict[str, PaperIn]) -> None:
    body = NATURE.read_bytes()

    page = rss.parse(body[: len(body) // 2])
    keys = [rss.normalise(entry).key for entry in page.entries]

    assert 0 < len(keys) < 75
    # The entry the cut went through may be partial; the ones before it are whole.
    assert keys[:-1] == list(nature)[: len(keys) - 1]


def test_an_empty_channel_is_an_empty_page() -> None:
    assert rss.parse(_rss2("")).entries == []


@pytest.mark.parametrize("body", [b"", b"garbage \x00\xff", b"<?xml version='1.0'?><a><b/></a>"])
def test_a_body_that_is_not_a_feed_raises_a_parse_error(body: bytes) -> None:
    with pytest.raises(FeedError) as raised:
        rss.parse(body)

    assert raised.value.kind == ErrorKind.PARSE


def test_a_body_naming_a_local_file_is_not_read_from_disk() -> None:
    # feedparser opens a bytes argument that is a path; the adapter must only parse bytes.
    with pytest.raises(FeedError) as raised:
        rss.parse(str(NATURE).encode())

    assert raised.value.kind == ErrorKind.PARSE


def test_the_page_url_is_the_feed_url() -> None:
    url = "https://www.nature.com/nature.rss"

    assert rss.page_url(url, offset=0, state={}, today=date(2024, 7, 18)) == url
