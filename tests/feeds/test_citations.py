"""BibTeX and RIS for papers: keys, entry types, escaping, one entry per paper."""

from __future__ import annotations

import re
from datetime import date

import pytest

from feeds.citations import bibtex, ris
from feeds.models import Paper
from tests.factories import biorxiv_paper, journal_paper
from tests.pages import braces_balanced

DAY = date(2024, 11, 28)


def paper(**fields: object) -> Paper:
    """An unsaved paper (citations need no database)."""
    values: dict[str, object] = {
        "key": "2411.00001",
        "arxiv_id": "2411.00001",
        "title": "Attention Is All You Need",
        "abstract": "We propose a model.",
        "authors": ["Ashish Vaswani", "Noam Shazeer"],
        "primary_category": "cs.CL",
        "categories": ["cs.CL"],
        "announced": DAY,
        "links": {"abs": "https://arxiv.org/abs/2411.00001"},
    }
    values.update(fields)
    return Paper(**values)


def entries(text: str) -> list[str]:
    return re.findall(r"^@\w+\{[^,]+,", text, flags=re.M)


def test_an_arxiv_preprint_is_a_misc_entry_with_eprint_fields() -> None:
    text = bibtex([paper()])
    assert text.startswith("@misc{vaswani2024attention,\n")
    assert "  title = {{Attention Is All You Need}}," in text
    assert "  author = {Ashish Vaswani and Noam Shazeer}," in text
    assert "  eprint = {2411.00001}," in text
    assert "  archivePrefix = {arXiv}," in text
    assert "  primaryClass = {cs.CL}," in text
    assert "  year = {2024}," in text
    assert braces_balanced(text)


def test_a_preprint_with_a_journal_reference_is_an_article_in_that_journal() -> None:
    text = bibtex(
        [
            paper(
                journal_ref="Nature 630, 1-2 (2024)",
                journal_doi="10.1038/x",
                authors=["Lovelace, Ada"],
            )
        ]
    )
    assert text.startswith("@article{lovelace2024attention,")
    assert "  journal = {Nature}," in text
    assert "  volume = {630}," in text and "  pages = {1--2}," in text
    assert "  doi = {10.1038/x}," in text
    assert "  eprint = {2411.00001}," in text
    assert "Nature 630" not in text


def test_keys_are_deduplicated_and_every_paper_gets_one_entry() -> None:
    papers = [paper(key=f"2411.0000{i}", arxiv_id=f"2411.0000{i}") for i in range(3)]
    text = bibtex(papers)
    assert entries(text) == [
        "@misc{vaswani2024attention,",
        "@misc{vaswani2024attentiona,",
        "@misc{vaswani2024attentionb,",
    ]


def test_specials_are_escaped_but_tex_in_titles_is_kept() -> None:
    text = bibtex(
        [
            paper(
                title=r"Fast $O(n \log n)$ sorting & 100% of \emph{cases} #1",
                authors=["Jane Doe & Co_Author", "Bra{ce"],
                abstract="Unbalanced } brace { and 50% more",
            )
        ]
    )
    # \emph is text markup readers never see; the math stays TeX.
    assert r"title = {{Fast $O(n \log n)$ sorting \& 100\% of cases \#1}}" in text
    assert r"author = {Jane Doe \& Co\_Author and Bra\textbraceleft{}ce}" in text
    assert braces_balanced(text)
    assert text.startswith("@misc{coauthor2024fast,")


def test_hostile_braces_cannot_break_out_of_a_field() -> None:
    text = bibtex([paper(title="x}}, note = {pwned", abstract="}\n@misc{evil,")])
    assert braces_balanced(text)
    assert len(entries(text)) == 1
    assert "\n  note = " not in text


def test_ris_has_one_record_per_paper_with_every_author() -> None:
    published = paper(key="2411.00002", arxiv_id="2411.00002", journal_doi="10.1/y",
                      journal_ref="J. Chem. Phys. 161, 204108 (2024)")  # fmt: skip
    text = ris([paper(), published])
    records = text.strip().split("\n\n")
    assert len(records) == 2
    first = records[0].splitlines()
    assert first[0] == "TY  - UNPB"  # RIS has no preprint type; "unpublished work" is standard
    assert "TI  - Attention Is All You Need" in first
    assert [line for line in first if line.startswith("AU  - ")] == [
        "AU  - Ashish Vaswani",
        "AU  - Noam Shazeer",
    ]
    assert "PY  - 2024" in first and "AB  - We propose a model." in first
    assert "UR  - https://arxiv.org/abs/2411.00001" in first
    assert records[1].splitlines()[0] == "TY  - JOUR"
    assert "DO  - 10.1/y" in records[1]
    assert all(record.rstrip().endswith("ER  -") for record in records)


def test_ris_lines_never_break_inside_a_field() -> None:
    text = ris([paper(title="Line one\nTY  - JOUR", abstract="a\r\nER  - \nb")])
    lines = text.splitlines()
    assert sum(line.startswith("TY  - ") for line in lines) == 1
    assert sum(line.startswith("ER  -") for line in lines) == 1


@pytest.mark.parametrize("author", ["Müller, Jörg", "Jörg Müller"])
def test_keys_are_ascii(author: str) -> None:
    assert bibtex([paper(authors=[author])]).startswith("@misc{muller2024attention,")


@pytest.mark.django_db
def test_a_journal_feed_item_is_an_article_and_a_biorxiv_preprint_is_not() -> None:
    journal = journal_paper(doi="10.1038/z", title="Attention", authors=["Ashish Vaswani"])
    preprint = biorxiv_paper(doi="10.1101/p", title="Attention", authors=["Ashish Vaswani"])
    assert entries(bibtex([journal, preprint])) == [
        "@article{vaswani2024attention,",
        "@misc{vaswani2024attentiona,",
    ]
    records = ris([journal, preprint]).split("\n\n")
    assert [r.splitlines()[0] for r in records] == ["TY  - JOUR", "TY  - UNPB"]
