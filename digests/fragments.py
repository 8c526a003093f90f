"""A paper card's body (title, authors, summary, abstract, links) rendered once and reused.

The body is the same for every reader of a language who sees it with the same summary: the
parts that differ per reader (number, saved star, thumbs, why it matched) stay outside it.
A page of 25 cards then renders each body once per ten minutes instead of on every request.

Rendered fresh, never cached: with DEBUG on (templates change under the developer), for
staff (their cards show the model's errors), for a summary that is not readable yet (a
pending card polls, a failed one shows when it is retried) and for search results (their
highlights and reasons belong to the query). The key names the body's templates (their
sources hashed), the language, the paper's last update and the summary's, so a new version
of a paper, a new summary or a new deploy of the templates never serves an old body.

A search result's body is rendered fresh, but the summary inside it (`digests/_card.html`,
most of a body's rendering) is the same as everywhere else: `paper_summary` keeps it under
its own key, made the same way, so search reuses it too. So does a card's source label and day
(`paper_meta`, `feeds/_paper_meta.html`): the label needs the paper's sightings, which a page
then loads only for the papers whose label it renders anew (`prefetch` says which).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.template import Context, Engine
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from digests.models import Card
from feeds.labels import PaperCard
from feeds.models import Paper

BODY_TEMPLATE = "feeds/_paper_body.html"
SUMMARY_TEMPLATE = "digests/_card.html"
META_TEMPLATE = "feeds/_paper_meta.html"
# The templates the body is made of: a change to any of them changes every key.
BODY_PARTS = (
    BODY_TEMPLATE,
    "feeds/_paper_authors.html",
    "feeds/_paper_abstract.html",
    "feeds/_paper_links.html",
    "digests/_card.html",
    "digests/_card_sections.html",
    META_TEMPLATE,
)
BODY_SECONDS = 600
# The context variable `prefetch` leaves a page's cached bodies in: {key: html or None}.
BODIES = "card_bodies"


@functools.cache
def _templates_hash(engine: Engine) -> str:
    sources = (engine.get_template(name).source for name in BODY_PARTS)
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()[:12]


def _stamp(moment: Any) -> str:
    return f"{moment.timestamp():.6f}" if moment is not None else "-"


def _card_language(context: Context) -> str | None:
    """The summary language the body is rendered in, or None when it must be rendered fresh."""
    user = context.get("user")
    if settings.DEBUG or (user is not None and getattr(user, "is_staff", False)):
        return None
    profile = context.get("profile")
    return str(context.get("lang") or getattr(profile, "card_language", "") or "both")


def body_key(
    engine: Engine, paper: Paper, llm_card: Card | None, card_language: str, part: str = "card-body"
) -> str | None:
    """The cache key of a paper's body (or of the summary in it, `part` "card-summary"), or
    None when it must be rendered fresh."""
    summary = "-"
    if llm_card is not None:
        if not llm_card.readable:
            return None
        summary = f"{llm_card.pk}.{llm_card.status}.{_stamp(llm_card.updated_at)}"
    return ":".join(
        [
            part,
            _templates_hash(engine),
            translation.get_language() or "",
            card_language,
            str(paper.pk),
            str(paper.version),
            _stamp(paper.updated_at),
            summary,
        ]
    )


def _engine(context: Context) -> Engine:
    return context.template.engine if context.template else Engine.get_default()


@dataclass(frozen=True, slots=True)
class Fresh:
    """What a page renders anew, by paper id: summaries (their cards' text is needed) and
    source labels (their sightings are needed)."""

    summaries: set[int]
    metas: set[int]


def prefetch(context: Context, papers: Iterable[Paper], llm_cards: Mapping[int, Card]) -> Fresh:
    """Read the bodies of a page's papers, the summaries in them and their source labels from
    the cache in one request (`BODIES` in the context), so each `paper_body` of the page needs
    no request of its own. Returns what was not found (a search result renders its body anew
    but not the summary in it)."""
    papers = list(papers)
    card_language = _card_language(context)
    if card_language is None:
        every = {p.pk for p in papers}
        return Fresh(every, every)
    engine = _engine(context)
    summaries: dict[int, str | None] = {}
    metas: dict[int, str | None] = {}
    wanted = []
    for paper in papers:
        llm_card = llm_cards.get(paper.pk)
        wanted.append(body_key(engine, paper, llm_card, card_language))
        metas[paper.pk] = body_key(engine, paper, None, card_language, "card-meta")
        wanted.append(metas[paper.pk])
        if llm_card is not None:
            summaries[paper.pk] = body_key(engine, paper, llm_card, card_language, "card-summary")
            wanted.append(summaries[paper.pk])
    keys = [key for key in wanted if key is not None]
    found = cache.get_many(keys) if keys else {}
    context[BODIES] = {key: found.get(key) for key in keys}

    def missing(by_paper: dict[int, str | None]) -> set[int]:
        return {p for p, key in by_paper.items() if not isinstance(found.get(key or ""), str)}

    return Fresh(missing(summaries), missing(metas))


def _cached(context: Context, key: str) -> str | None:
    """The prefetched (or else cached) fragment under `key`, or None."""
    prefetched = context.get(BODIES) or {}
    cached = prefetched[key] if key in prefetched else cache.get(key)
    return cached if isinstance(cached, str) else None


def _reused(
    context: Context,
    paper: Paper,
    llm_card: Card | None,
    part: str,
    template_name: str,
    names: dict[str, Any],
    reusable: bool = True,
) -> SafeString:
    """`template_name` rendered with `names` in the context, or the copy another request kept
    under the key of `part` of this paper (`body_key`)."""
    engine = _engine(context)
    card_language = _card_language(context)
    key = None
    if card_language is not None and reusable:
        key = body_key(engine, paper, llm_card, card_language, part)
    if key is not None and (cached := _cached(context, key)) is not None:
        return mark_safe(cached)  # noqa: S308 (our own rendering of escaped templates)
    with context.push(**names):
        html = engine.get_template(template_name).render(context)
    if key is not None:
        cache.set(key, str(html), BODY_SECONDS)
    return mark_safe(html)  # noqa: S308


def paper_body(context: Context, card: PaperCard, llm_card: Card | None) -> SafeString:
    """The card's body for this page: from the cache when another request rendered it (never
    a search result's, whose highlights belong to the query)."""
    names = {"card": card, "llm_card": llm_card}
    searched = bool(card.title_html or card.snippet_html or card.why)
    return _reused(context, card.paper, llm_card, "card-body", BODY_TEMPLATE, names, not searched)


def paper_meta(context: Context, card: PaperCard) -> SafeString:
    """A card's source label and day (`META_TEMPLATE`): from the cache when another request
    rendered them."""
    return _reused(context, card.paper, None, "card-meta", META_TEMPLATE, {"card": card})


def paper_summary(context: Context, paper: Paper, llm_card: Card) -> SafeString:
    """The summary in a body (`SUMMARY_TEMPLATE`): from the cache when another request (or
    another page, search included) rendered it."""
    names = {"paper": paper, "card": llm_card}
    return _reused(context, paper, llm_card, "card-summary", SUMMARY_TEMPLATE, names)
