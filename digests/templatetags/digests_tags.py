"""Template helpers for summary cards on pages that list or show papers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django import template

from digests.models import Card
from digests.selectors import card_for_paper, cards_for_papers
from feeds.models import Paper

register = template.Library()


@register.simple_tag
def paper_summary_card(paper: Paper) -> Card | None:
    """`{% paper_summary_card paper as llm_card %}`: the card to show for one paper."""
    return card_for_paper(paper.pk)


@register.simple_tag
def summary_cards(papers: Iterable[Paper | int]) -> dict[int, Card]:
    """`{% summary_cards papers as llm_cards %}`: the cards of a page's papers, one query."""
    return cards_for_papers(p if isinstance(p, int) else p.pk for p in papers)


@register.filter
def card_of(cards: Mapping[int, Card] | None, paper_id: int) -> Card | None:
    """`{{ llm_cards|card_of:paper.id }}`: one paper's card from `summary_cards`."""
    return (cards or {}).get(paper_id)
