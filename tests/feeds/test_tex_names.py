"""TeX in author names and affiliations is stored as Unicode, from every kind of source, so
pages, RIS, meta tags and emails agree."""

from __future__ import annotations

import pytest
import rispy

from feeds.citations import ris
from feeds.models import Paper
from feeds.pipeline.poll import body_ingest
from feeds.sources import arxiv_rss
from feeds.sources.common import tex_to_unicode
from tests.factories import SourceFactory


@pytest.mark.parametrize(
    ("tex", "name"),
    [
        ("Gu{\\dh}mundur Sigur{\\dh}sson", "Guðmundur Sigurðsson"),
        ("{\\TH}{\\'o}ra {\\DH}orsd{\\'o}ttir", "Þóra Ðorsdóttir"),
        ("Przemys{\\l}aw R\\'emy", "Przemysław Rémy"),
        ("Du{\\v s}an {\\DJ}uri{\\'c}", "Dušan Đurić"),
        ('J\\"urgen M{\\"u}ller', "Jürgen Müller"),
    ],
)
def test_tex_letters_and_accents_in_names_become_unicode(tex: str, name: str) -> None:
    assert tex_to_unicode(tex) == name


def test_an_arxiv_item_stores_its_authors_in_unicode() -> None:
    raw = {
        "id": "oai:arXiv.org:2411.00001v1",
        "title": "T",
        "summary": "arXiv:2411.00001v1 Announce Type: new \nAbstract: A.",
        "authors": [{"name": "Gu{\\dh}mundur J{\\'o}nsson (H{\\'a}sk{\\'o}li {\\'I}slands), Ada"}],
    }
    paper = arxiv_rss.normalise(raw)
    assert paper.authors == ["Guðmundur Jónsson", "Ada"]
    assert paper.affiliations == ["Háskóli Íslands", ""]


# --- every adapter, through the path a poll takes (parse, normalise, sanitise, upsert) --------

ARXIV_API = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
      xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/x</id>
  <title>arXiv Query</title>
  <updated>2024-11-28T00:00:00Z</updated>
  <opensearch:itemsPerPage>100</opensearch:itemsPerPage>
  <opensearch:totalResults>1</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <entry>
    <id>http://arxiv.org/abs/2411.00002v1</id>
    <title>Glaciers of Iceland</title>
    <updated>2024-11-27T10:00:00Z</updated>
    <link href="https://arxiv.org/abs/2411.00002v1" rel="alternate" type="text/html"/>
    <summary>We measure glaciers.</summary>
    <category term="physics.geo-ph" scheme="http://arxiv.org/schemas/atom"/>
    <published>2024-11-27T10:00:00Z</published>
    <arxiv:primary_category term="physics.geo-ph"/>
    <author>
      <name>Gu{\\dh}mundur J{\\'o}nsson</name>
      <arxiv:affiliation>H{\\'a}sk{\\'o}li {\\'I}slands</arxiv:affiliation>
    </author>
    <author>
      <name>Przemys{\\l}aw R\\'emy</name>
      <arxiv:affiliation>Universit{\\"a}t Z{\\"u}rich</arxiv:affiliation>
    </author>
  </entry>
</feed>"""

JOURNAL_RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>A journal</title><link>https://journal.example</link><description>J</description>
<item><title>Glacier retreat</title>
<link>https://www.science.org/doi/abs/10.1126/science.zz0001?af=R</link>
<description>We measure glaciers.</description>
<dc:creator>{\\TH}{\\'o}ra {\\DH}orsd{\\'o}ttir</dc:creator>
<dc:creator>Du{\\v s}an {\\DJ}uri{\\'c}</dc:creator>
<pubDate>Thu, 28 Nov 2024 10:00:00 +0000</pubDate></item>
</channel></rss>"""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "body", "authors", "affiliations"),
    [
        (
            "arxiv_api",
            ARXIV_API,
            ["Guðmundur Jónsson", "Przemysław Rémy"],
            ["Háskóli Íslands", "Universität Zürich"],
        ),
        ("rss", JOURNAL_RSS, ["Þóra Ðorsdóttir", "Dušan Đurić"], ["", ""]),
    ],
)
def test_every_source_kind_stores_tex_names_in_unicode(
    kind: str, body: bytes, authors: list[str], affiliations: list[str]
) -> None:
    """Only arXiv's RSS converted them: the arXiv API and journal feeds stored the TeX."""
    summary = body_ingest(SourceFactory.create(kind=kind), body)
    assert summary.created == 1
    paper = Paper.objects.get()
    assert (paper.authors, paper.affiliations) == (authors, affiliations)
    record = rispy.loads(ris([paper]))[0]
    assert record["authors"] == authors
