"""TeX in arXiv's author names is stored as Unicode, so pages, RIS, meta tags and emails agree."""

from __future__ import annotations

import pytest

from feeds.sources import arxiv_rss
from feeds.sources.common import tex_to_unicode


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
