"""Papers as plain dicts with the stable field names of `export_papers` and the JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from feeds.models import Paper
from feeds.pipeline.text import clean_abstract, clean_title
from feeds.reference import paper_reference

# The parts of a card in each language (DESIGN §8), as digests.models.SECTIONS.
CARD_SECTIONS = ("tldr", "motivation", "method", "result", "conclusion")


class CardLike(Protocol):
    """What the export reads of a summary card (digests.models.Card); feeds imports no digests."""

    @property
    def status(self) -> str: ...
    @property
    def title_zh(self) -> str: ...
    @property
    def en(self) -> Any: ...
    @property
    def zh(self) -> Any: ...


def card_export(card: CardLike) -> dict[str, Any]:
    """A card under the names DESIGN §8 fixes; texts only once there are any (done or
    extractive), so a pending or failed card is just its status."""
    readable = card.status in ("done", "extractive")

    def part(value: Any) -> dict[str, str]:
        value = value if readable and isinstance(value, Mapping) else {}
        return {name: str(value.get(name) or "") for name in CARD_SECTIONS}

    return {
        "status": card.status,
        "title_zh": card.title_zh if readable else "",
        "en": part(card.en),
        "zh": part(card.zh),
    }


def paper_export(paper: Paper, card: CardLike | None = None) -> dict[str, Any]:
    """One paper under the names DESIGN §8 fixes (sightings must be prefetched with their
    sources).

    `card` is the paper's summary card, if it has one; callers fetch a page's cards in one
    query (`digests.selectors.cards_for_papers`) and pass each paper its own.
    """
    # Plain text as readers see it (rows stored before a cleaning rule existed included).
    title = clean_title(paper.title)
    exported = {
        "key": paper.key,
        "arxiv_id": paper.arxiv_id,
        "doi": paper.doi,
        "version": paper.version,
        "announce_type": paper.announce_type,
        "title": title,
        "abstract": clean_abstract(paper.abstract, title=title),
        "authors": list(paper.authors),
        "primary_category": paper.primary_category,
        "categories": list(paper.categories),
        "announced": paper.announced.isoformat(),
        # The year a citation gives (BibTeX's and RIS's): the journal's, else the preprint's.
        "year": paper_reference(paper).cited.year,
        "journal_ref": paper.journal_ref,
        "journal_doi": paper.journal_doi,
        "links": {k: paper.links[k] for k in ("abs", "pdf", "html", "doi") if k in paper.links},
        "sources": sorted({s.source.label for s in paper.sightings.all()}),
    }
    if card is not None:
        exported["card"] = card_export(card)
    return exported
