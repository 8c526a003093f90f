"""Template helpers for summary cards on pages that list or show papers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django import template
from django.db.models import prefetch_related_objects
from django.utils.safestring import SafeString

from digests import fragments, llm
from digests.models import Card
from digests.selectors import card_for_paper, cards_for_papers, cards_with_text
from feeds.labels import PaperCard
from feeds.models import Paper
from feeds.selectors import display_sightings

register = template.Library()


@register.simple_tag
def llm_configured() -> bool:
    """`{% llm_configured as llm_on %}`: whether cards are written by a language model (an
    extractive card then stands in until the model's is made)."""
    return llm.llm_configured()


@register.simple_tag
def paper_summary_card(paper: Paper) -> Card | None:
    """`{% paper_summary_card paper as llm_card %}`: the card to show for one paper."""
    return card_for_paper(paper.pk)


@register.simple_tag(takes_context=True)
def summary_cards(context: template.Context, papers: Iterable[Paper | int]) -> dict[int, Card]:
    """`{% summary_cards papers as llm_cards %}`: the cards of a page's papers, one query;
    the page's card bodies (`paper_body`) are read from the cache at the same time."""
    papers = list(papers)
    ids = [p if isinstance(p, int) else p.pk for p in papers]
    shown = [p for p in papers if isinstance(p, Paper)]
    cards = cards_for_papers(ids, state_only=True)
    fresh = fragments.prefetch(context, shown, cards)
    # Only the cards the page renders anew need their text, and only the source labels it
    # renders anew their papers' sightings (Django skips papers whose page loaded them).
    anew = fresh.summaries | (set(ids) - {p.pk for p in shown})
    wanted = [card for paper_id, card in cards.items() if paper_id in anew]
    if wanted:
        cards.update(cards_with_text(wanted))
    unlabelled = [p for p in shown if p.pk in fresh.metas]
    if unlabelled:
        prefetch_related_objects(unlabelled, display_sightings())
    return cards


@register.filter
def card_of(cards: Mapping[int, Card] | None, paper_id: int) -> Card | None:
    """`{{ llm_cards|card_of:paper.id }}`: one paper's card from `summary_cards`."""
    return (cards or {}).get(paper_id)


@register.simple_tag(takes_context=True)
def paper_body(context: template.Context, card: PaperCard, llm_card: Card | None) -> SafeString:
    """`{% paper_body card llm_card %}`: the card's title, authors, summary, abstract and
    links (feeds/_paper_body.html), shared by the readers who see the same (`fragments`)."""
    return fragments.paper_body(context, card, llm_card or None)


@register.simple_tag(takes_context=True)
def paper_meta(context: template.Context, card: PaperCard) -> SafeString:
    """`{% paper_meta card %}`: the card's source label and day (feeds/_paper_meta.html),
    shared by the readers of a language (`fragments`)."""
    return fragments.paper_meta(context, card)


@register.simple_tag(takes_context=True)
def paper_summary(context: template.Context, paper: Paper, llm_card: Card) -> SafeString:
    """`{% paper_summary paper llm_card %}`: a body's summary (digests/_card.html), shared
    like the body and also by search results, whose bodies are their own (`fragments`)."""
    return fragments.paper_summary(context, paper, llm_card)
