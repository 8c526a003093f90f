"""Reads of cards that pages, the export and the API share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import JSONObject

from digests.cards import PaperTextHash, current_key
from digests.models import Briefing, Card
from feeds.models import Paper
from radar.models import Subscription

# What a page needs of a card whose rendering it reuses (`digests.fragments`): the cache key's
# parts and whether it is readable or polls; the text is loaded only for cards rendered anew.
CARD_STATE_FIELDS = ("id", "paper_id", "status", "updated_at", "next_attempt_at")


def cards_for_papers(paper_ids: Iterable[int], *, state_only: bool = False) -> dict[int, Card]:
    """The card to show for each of these papers, in one query: only cards of the paper's
    current text; a done card of the current prompt and model first, then any other done
    card (an older prompt or model, until the new one is made), then an extractive card,
    then a pending one, then a failed one. Papers without a card are absent. `state_only`
    loads only CARD_STATE_FIELDS (`cards_with_text` loads the rest of those to render)."""
    ids = sorted({int(i) for i in paper_ids})
    if not ids:
        return {}
    cards = Card.objects.only(*CARD_STATE_FIELDS) if state_only else Card.objects.all()
    cards = (
        cards.filter(paper_id__in=ids)
        .annotate(current=PaperTextHash("paper__"), rank=_rank())
        .filter(text_hash=F("current"))
        .order_by("paper_id", "rank", "-updated_at", "-id")
        .distinct("paper_id")
    )
    return {card.paper_id: card for card in cards}


def cards_with_text(cards: Iterable[Card]) -> dict[int, Card]:
    """These cards (loaded by `cards_for_papers(state_only=True)`) whole, by paper, in one
    query."""
    return {card.paper_id: card for card in Card.objects.filter(pk__in=[c.pk for c in cards])}


def _rank() -> Case:
    """Which card of a paper to show: see `cards_for_papers`."""
    prompt_version, model = current_key()
    return Case(
        When(Q(status=Card.Status.DONE, prompt_version=prompt_version, model=model), then=0),
        When(status=Card.Status.DONE, then=1),
        When(status=Card.Status.EXTRACTIVE, then=2),
        When(status=Card.Status.PENDING, then=3),
        default=Value(4),
        output_field=IntegerField(),
    )


@dataclass(frozen=True, slots=True)
class CardRow:
    """The exported fields of a card, as `papers_with_cards` reads them."""

    status: str
    title_zh: str
    en: Any
    zh: Any


def papers_with_cards(papers: QuerySet[Paper]) -> QuerySet[Paper]:
    """`papers`, each carrying its card's exported fields in `summary_card` (a dict or None)
    chosen as `cards_for_papers` does, in the same query (a correlated subquery); read it
    with `card_row`. For exports that stream many papers."""
    best = (
        Card.objects.filter(paper_id=OuterRef("pk"), text_hash=OuterRef("card_text_hash"))
        .annotate(rank=_rank())
        .order_by("rank", "-updated_at", "-id")
        .values(data=JSONObject(status="status", title_zh="title_zh", en="en", zh="zh"))[:1]
    )
    return papers.annotate(card_text_hash=PaperTextHash()).annotate(summary_card=Subquery(best))


def card_row(paper: Paper) -> CardRow | None:
    """The card `papers_with_cards` attached to `paper`, or None."""
    data = getattr(paper, "summary_card", None)
    if not isinstance(data, dict):
        return None
    return CardRow(
        status=str(data.get("status") or ""),
        title_zh=str(data.get("title_zh") or ""),
        en=data.get("en") or {},
        zh=data.get("zh") or {},
    )


def card_for_paper(paper_id: int) -> Card | None:
    """The card to show for one paper, or None."""
    return cards_for_papers([paper_id]).get(paper_id)


# --- Briefings (issue 6) ----------------------------------------------------------------------

# What a reader can open: empty and pending briefings have no page.
BRIEFING_VISIBLE = (Briefing.Status.DONE, Briefing.Status.EXTRACTIVE, Briefing.Status.FAILED)


def briefings_for_user(
    user: AbstractBaseUser | AnonymousUser,
    *,
    radar_id: int | None = None,
    tests: bool = False,
) -> QuerySet[Briefing]:
    """The briefings a user may read, newest first: those of radars they own or follow
    (of one radar with `radar_id`); nobody else's. The radar is loaded. A test email's own
    briefings (`Briefing.is_test`) are left out of these lists unless `tests`: they are read
    by the same rule, through the links of a test email and its archive page."""
    if not user.is_authenticated:
        return Briefing.objects.none()
    follows = Subscription.objects.filter(user_id=user.pk, radar_id=OuterRef("radar_id"))
    briefings = Briefing.objects.filter(status__in=BRIEFING_VISIBLE).filter(
        Q(radar__owner_id=user.pk) | Exists(follows)
    )
    if not tests:
        briefings = briefings.filter(is_test=False)
    if radar_id is not None:
        briefings = briefings.filter(radar_id=radar_id)
    return briefings.select_related("radar").defer("radar__profile").order_by("-window_end", "-id")


def briefing_for_user(
    user: AbstractBaseUser | AnonymousUser, briefing_id: int, *, tests: bool = False
) -> Briefing | None:
    """One briefing the user may read, or None (a 404 for everyone else); a test briefing
    only with `tests` (the page a test email links to)."""
    return briefings_for_user(user, tests=tests).filter(pk=briefing_id).first()
