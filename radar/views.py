"""Pages of the radar app: search (by words and meaning), saved papers, radars (list, edit,
live preview, feed), topics, and Today's "My radars" view."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from academichub.web import (
    AuthedRequest,
    HtmxHttpRequest,
    date_param,
    int_param,
    safe_next,
    url_with,
    wants_partial,
)
from feeds import citations, front
from feeds import selectors as feeds_selectors
from feeds.labels import PaperCard, display_text, paper_card
from feeds.models import Paper
from feeds.names import category_label
from feeds.search import SEARCH_PAGE_SIZE
from radar import feeds as atom
from radar.crosslingual import has_cjk
from radar.forms import RadarForm
from radar.matching import radar_preview
from radar.models import Radar, Subscription
from radar.picker import (
    PICK_GOAL,
    authors_with,
    examples_with,
    pick_search,
    picked_papers,
)
from radar.reasons import LearnedFrom, reasons_text
from radar.scoring import LIKED_CATEGORY, LIKED_WORDS_MAX
from radar.search import HybridResult, search_hybrid
from radar.selectors import (
    MY_RADARS_PAGE,
    follower_count,
    my_radars_day,
    radar_by_feed_token,
    radar_matches_for_user,
    radar_owned,
    radar_readable,
    radars_learned_from,
    radars_owned,
    rated_or_matched_paper,
    saved_list_for_display,
    saved_paper_ids_for_user,
    saved_papers_for_export,
    subscription_of,
    topics_directory,
    topics_followed,
    user_has_radars,
)
from radar.services import (
    example_key,
    feedback_set,
    list_items,
    papers_mark_seen,
    radar_create,
    radar_delete,
    radar_feed_token_set,
    radar_update,
    saved_paper_toggle,
    subscription_set,
)

FEED_PAGE_SIZE = 25
TOPICS_PAGE_SIZE = 30
PREVIEW_DAYS = 7
PREVIEW_LIMIT = 20


def _page_param(request: HttpRequest) -> int:
    value = request.GET.get("page", "")
    return int(value) if value.isascii() and value.isdecimal() and 0 < len(value) < 6 else 1


def owner_display_name(user: AbstractBaseUser) -> str:
    """How a topic's owner is named in public: their full name, never their email address."""
    full = display_text(user.get_full_name()).strip() if isinstance(user, User) else ""
    if full:
        return full
    if getattr(user, "is_staff", False):
        return _("AcademicHub editors")
    return _("a member")


# --- search ---------------------------------------------------------------------------------


def _search_why(paper_id: int, result: HybridResult) -> list[str]:
    """Why a search result came: its words matched, it is close in meaning, or both."""
    why = []
    if paper_id in result.by_words:
        why.append(_("matches your words"))
    elif paper_id in result.some_words:
        why.append(
            _("matches some of your words: %(words)s")
            % {"words": ", ".join(result.some_words[paper_id])}
        )
    elif paper_id in result.by_english:
        terms = result.english_held.get(paper_id)
        why.append(
            _("matches its English terms: %(terms)s")
            % {"terms": ", ".join(terms) if terms else result.english}
        )
    if paper_id in result.closeness:
        why.append(_("close in meaning (%(score).2f)") % {"score": result.closeness[paper_id]})
    return why


def search(request: HtmxHttpRequest) -> HttpResponse:
    """Search titles and abstracts by words and by meaning, `author:` search, and the Today
    filters; each result says why it came."""
    q = display_text(request.GET.get("q", "")).strip()[:500]
    author = display_text(request.GET.get("author", "")).strip()[:200]
    filters = feeds_selectors.PaperFilters.from_query(request.GET)
    page = max(int_param(request, "page", 1), 1)
    result = search_hybrid(q=q, author=author, filters=filters, page=page)
    start = (page - 1) * SEARCH_PAGE_SIZE + 1
    cards = []
    for i, paper in enumerate(result.papers):
        card = paper_card(paper, start + i)
        card.title_html = result.titles.get(paper.id, "")
        card.snippet_html = result.snippets.get(paper.id, "")
        card.why = _search_why(paper.id, result)
        cards.append(card)
    next_url = ""
    if result.has_more:
        next_url = url_with(
            "radar:search", {"q": q, "author": author, **filters.params(), "page": page + 1}
        )
    context: dict[str, Any] = {
        "q": q,
        "author": author,
        "filters": filters,
        "result": result,
        "cards": cards,
        "papers": result.papers,
        "next_url": next_url,
        "page": page,
        "asked": bool(q or author),
        # A Chinese query found nothing: its words are not all in the glossary (say so).
        "chinese_unknown": bool(q) and not cards and has_cjk(q),
    }
    if page > 1 and wants_partial(request):
        return render(request, "radar/search.html#paper-items", context)
    context["choices"] = feeds_selectors.filter_choices()
    context["first_page_url"] = url_with(
        "radar:search", {"q": q, "author": author, **filters.params()}
    )
    return render(request, "radar/search.html", context)


# --- saved papers ---------------------------------------------------------------------------


@login_required
def saved(request: AuthedRequest) -> HttpResponse:
    """The user's saved papers, newest first, with export and unsave."""
    items = [(row, paper_card(row.paper)) for row in saved_list_for_display(user=request.user)]
    return render(request, "radar/saved.html", {"items": items})


@require_POST
@login_required
def save_toggle(request: AuthedRequest, paper_id: int) -> HttpResponse:
    """Star or unstar a paper; htmx gets the new button, a plain form a redirect back."""
    paper = get_object_or_404(Paper, pk=paper_id)
    wanted = request.POST.get("saved")
    saved_state = saved_paper_toggle(
        user=request.user,
        paper=paper,
        saved=None if wanted not in ("0", "1") else wanted == "1",
    )
    next_url = safe_next(request, reverse("radar:saved"))
    if request.htmx:
        return render(
            request,
            "radar/_save_button.html",
            {"paper": paper, "is_saved": saved_state, "save_next": next_url},
        )
    return HttpResponseRedirect(next_url)


def _selected_ids(request: HttpRequest) -> list[int] | None:
    """The `key` checkboxes as paper ids, or None for "everything"."""
    data = request.POST if request.method == "POST" else request.GET
    raw = data.getlist("key")
    if not raw:
        return None
    return [int(value) for value in raw if value.isascii() and value.isdecimal()]


def _export(request: AuthedRequest, fmt: str) -> HttpResponse:
    papers = saved_papers_for_export(user=request.user, paper_ids=_selected_ids(request))
    return citations.citations_download(papers, fmt=fmt, name="academichub-saved")


@require_GET
@login_required
def saved_export_bibtex(request: AuthedRequest) -> HttpResponse:
    """The user's saved papers (all, or the `key` ids chosen) as BibTeX."""
    return _export(request, "bib")


@require_GET
@login_required
def saved_export_ris(request: AuthedRequest) -> HttpResponse:
    """The user's saved papers (all, or the `key` ids chosen) as RIS."""
    return _export(request, "ris")


# --- my radars: list, create, edit, delete, live preview ------------------------------------


@require_GET
@login_required
def radar_list(request: AuthedRequest) -> HttpResponse:
    """The user's radars with their match counts, and the topics they follow."""
    context = {
        "radars": list(radars_owned(user=request.user)),
        "topics": list(topics_followed(user=request.user)),
    }
    return render(request, "radar/list.html", context)


@dataclass
class PreviewItem:
    """One paper of the live preview."""

    card: PaperCard
    score: float
    reasons: list[str]


def _preview(form: RadarForm, radar: Radar | None = None) -> dict[str, Any]:
    """The preview partial's context for the form's current values (editing `radar`: without
    the papers its owner marked 👎, which left it)."""
    fields, problems = form.preview_fields()
    if problems:
        return {"preview_errors": problems}
    wanted = ("description", "include", "authors", "examples")
    if not any(fields.get(name) for name in wanted):
        return {"preview_empty": True}
    found = radar_preview(fields, days=PREVIEW_DAYS, limit=PREVIEW_LIMIT, radar=radar)
    # A preview's only learning is from the example papers (it has no 👍 yet).
    learned_from = LearnedFrom.EXAMPLES
    items = [
        PreviewItem(
            paper_card(paper), match.score, reasons_text(match.reasons, learned_from=learned_from)
        )
        for paper, match in found.matches
    ]
    return {
        "preview_items": items,
        # How many the radar would catch in the window: `preview_items` are the best of them.
        "preview_total": found.total,
        "preview_days": PREVIEW_DAYS,
        "examples_left_out": found.examples_left_out,
    }


def _picked_context(form: RadarForm) -> dict[str, Any]:
    """The picker's list of picked papers: the form's `examples`, each found or not."""
    picked = picked_papers(form["examples"].value() or "")
    low, high = PICK_GOAL
    return {
        "picked": picked,
        "picked_count": len(picked),
        "pick_low": low,
        "pick_high": high,
        # A key as written, and the key of the paper it found (a DOI may name an arXiv paper).
        "pick_keys": {p.key for p in picked} | {p.card.paper.key for p in picked if p.card},
        "followed": {a.casefold() for a in list_items(form["authors"].value() or "")},
    }


def _pick_query(request: HttpRequest) -> str:
    data = request.POST if request.method == "POST" else request.GET
    return display_text(data.get("pick", "")).strip()[:500]


def _form_page(
    request: AuthedRequest, form: RadarForm, radar: Radar | None, preview: dict[str, Any] | None
) -> HttpResponse:
    pick_q = _pick_query(request)
    context: dict[str, Any] = {
        "form": form,
        "radar": radar,
        "preview": preview or {},
        "pick_q": pick_q,
        "pick": pick_search(pick_q) if pick_q else None,
        **_picked_context(form),
    }
    if radar is not None:
        context.update(_feed_token_context(request, radar))
    response = render(request, "radar/edit.html", context)
    if radar is not None and radar.feed_token:
        add_never_cache_headers(response)  # the page shows a secret URL
    return response


PICK_ACTIONS = ("add_example", "remove_example", "add_author")


def _picked_data(request: AuthedRequest) -> QueryDict | None:
    """The form's data after a picker button pressed without JavaScript (add or remove an
    example, follow an author), or None when no picker button was pressed."""
    post = request.POST
    if not any(name in post for name in PICK_ACTIONS):
        return None
    data = post.copy()
    data["examples"] = examples_with(
        post.get("examples", ""),
        add=" ".join(post.getlist("add_example")).split(),
        remove=post.getlist("remove_example"),
    )
    for name in post.getlist("add_author"):
        data["authors"] = authors_with(data.get("authors", ""), name)
    return data


@require_http_methods(["GET", "POST"])
@login_required
def radar_new(request: AuthedRequest) -> HttpResponse:
    """Create a radar; "Preview" (without JavaScript) shows the matches without saving, and
    so does a picker button (the page again, the paper added or removed)."""
    if request.method != "POST":
        return _form_page(request, RadarForm(), None, None)
    picked = _picked_data(request)
    if picked is not None:
        form = RadarForm(picked)
        return _form_page(request, form, None, _preview(form))
    form = RadarForm(request.POST)
    if "_preview" in request.POST:
        return _form_page(request, form, None, _preview(form))
    if not form.is_valid():
        return _form_page(request, form, None, None)
    try:
        radar = radar_create(owner=request.user, fields=form.radar_fields)
    except ValidationError as exc:
        form.add_error(None, exc)
        return _form_page(request, form, None, None)
    messages.success(
        request,
        _("Radar “%(name)s” created. Matches from the last days appear in a moment.")
        % {"name": radar.name},
    )
    return HttpResponseRedirect(reverse("radar:radar_feed", args=[radar.pk]))


def _owned_or_404(request: AuthedRequest, radar_id: int) -> Radar:
    radar = radar_owned(user=request.user, radar_id=radar_id)
    if radar is None:
        raise Http404("no such radar")
    return radar


@require_http_methods(["GET", "POST"])
@login_required
def radar_edit(request: AuthedRequest, radar_id: int) -> HttpResponse:
    """Edit one's radar; saving rescores the recent papers."""
    radar = _owned_or_404(request, radar_id)
    if request.method != "POST":
        return _form_page(request, RadarForm(radar=radar), radar, None)
    picked = _picked_data(request)
    if picked is not None:
        form = RadarForm(picked, radar=radar)
        return _form_page(request, form, radar, _preview(form, radar))
    form = RadarForm(request.POST, radar=radar)
    if "_preview" in request.POST:
        return _form_page(request, form, radar, _preview(form, radar))
    if not form.is_valid():
        return _form_page(request, form, radar, None)
    radar_update(radar, fields=form.radar_fields)
    messages.success(request, _("Radar “%(name)s” saved.") % {"name": radar.name})
    return HttpResponseRedirect(reverse("radar:radar_feed", args=[radar.pk]))


@require_POST
@login_required
def radar_preview_partial(request: AuthedRequest) -> HttpResponse:
    """The live preview for the form's current values (htmx posts it as the user types), and
    the picker's list of picked papers swapped out of band, so it follows the examples field."""
    form = RadarForm(request.POST)
    # Editing a saved radar (?radar=id, the owner's only): its 👎 papers stay out.
    radar_id = int_param(request, "radar")
    radar = radar_owned(user=request.user, radar_id=radar_id) if radar_id else None
    context = {"preview": _preview(form, radar), **_picked_context(form)}
    return render(request, "radar/_preview_live.html", context)


@require_GET
@login_required
def radar_pick(request: AuthedRequest) -> HttpResponse:
    """The paper picker's results: papers by words, meaning, id, DOI or author to add to the
    radar form's examples (`examples` and `authors` say which are added already)."""
    pick_q = _pick_query(request)
    examples = list_items(request.GET.get("examples", ""))
    followed = list_items(request.GET.get("authors", ""))
    context = {
        "pick_q": pick_q,
        "pick": pick_search(pick_q),
        "pick_keys": {example_key(line) for line in examples},
        "followed": {a.casefold() for a in followed},
    }
    return render(request, "radar/_pick_results.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def radar_delete_view(request: AuthedRequest, radar_id: int) -> HttpResponse:
    """Ask, then delete a radar with its matches, feedback and followers."""
    radar = _owned_or_404(request, radar_id)
    if request.method != "POST":
        followers = Subscription.objects.filter(radar=radar).exclude(user_id=radar.owner_id)
        return render(
            request, "radar/delete.html", {"radar": radar, "follower_count": followers.count()}
        )
    name = radar.name
    radar_delete(radar)
    messages.success(request, _("Radar “%(name)s” deleted.") % {"name": name})
    return HttpResponseRedirect(reverse("radar:radars"))


# --- Atom feed token ------------------------------------------------------------------------


def _feed_token_context(request: HttpRequest, radar: Radar) -> dict[str, Any]:
    url = ""
    if radar.feed_token:
        url = request.build_absolute_uri(reverse("radar:atom", args=[radar.feed_token]))
    return {"feed_url": url}


@require_POST
@login_required
def feed_token(request: AuthedRequest, radar_id: int) -> HttpResponse:
    """Turn the radar's secret Atom feed on, give it a new address, or turn it off."""
    radar = _owned_or_404(request, radar_id)
    action = request.POST.get("action")
    if action not in ("on", "rotate", "off"):
        return HttpResponseBadRequest("action is on, rotate or off")
    radar_feed_token_set(radar, enabled=action != "off")
    next_url = safe_next(request, reverse("radar:radar_edit", args=[radar.pk]))
    if not request.htmx:
        return HttpResponseRedirect(next_url)
    context = {"radar": radar, "feed_next": next_url, **_feed_token_context(request, radar)}
    response = render(request, "radar/_feed_token.html", context)
    add_never_cache_headers(response)
    return response


@require_GET
def atom_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A radar's latest matches as Atom, for feed readers: the secret token is the key."""
    radar = radar_by_feed_token(token)
    if radar is None:
        raise Http404("no such feed")
    return atom.radar_atom_response(request, radar)


# --- a radar's feed (also a topic's page) ---------------------------------------------------


def whole_points(points: float) -> int:
    """Points as a card writes them: whole, a half rounded up (as floatformat:0 did)."""
    return math.floor(points + 0.5)


@dataclass(frozen=True, slots=True)
class RadarChip:
    """A radar named on a card: its name in the reader's language and its feed (the owner's
    feed, or the topic's page for a followed one)."""

    name: str
    url: str


@dataclass
class FeedItem:
    """One card of a radar's feed."""

    card: PaperCard
    score: float
    reasons: list[str]
    is_new: bool = False
    feedback: int | None = None
    day_heading: date | None = None
    # "Caught by" on the My radars view: each radar's name and feed, worked out once per radar.
    radars: list[RadarChip] = field(default_factory=list)

    @property
    def points(self) -> int:
        """The score as the card writes it (`whole_points`)."""
        return whole_points(self.score)

    @property
    def score_text(self) -> str:
        """The "why this paper?" box's last line."""
        return _("Score %(score)s of 100, the sum of the parts above") % {"score": self.points}


def _feed_page(
    radar: Radar,
    user: AbstractBaseUser | AnonymousUser,
    page: int,
    learned_from: LearnedFrom = LearnedFrom.UNKNOWN,
) -> tuple[list[FeedItem], bool]:
    """One page of the radar's matches for `user`, with day headings where the day changes."""
    offset = (page - 1) * FEED_PAGE_SIZE
    # One match before the page tells whether its first card starts a new day.
    rows = list(
        radar_matches_for_user(
            radar=radar, user=user, start=max(offset - 1, 0), stop=offset + FEED_PAGE_SIZE + 1
        )
    )
    previous_day = rows.pop(0).announced if offset and rows else None
    has_more = len(rows) > FEED_PAGE_SIZE
    items = []
    for i, match in enumerate(rows[:FEED_PAGE_SIZE]):
        day = match.announced
        items.append(
            FeedItem(
                card=paper_card(match.paper, offset + i + 1),
                score=match.score,
                reasons=reasons_text(match.reasons, learned_from=learned_from),
                is_new=not getattr(match, "is_seen", True),
                feedback=getattr(match, "feedback", None),
                day_heading=day if day != previous_day else None,
            )
        )
        previous_day = day
    return items, has_more


# --- Today's "My radars" view ---------------------------------------------------------------


def today_my_radars(request: HtmxHttpRequest, user: AbstractBaseUser) -> HttpResponse:
    """The "My radars" view: papers caught by the user's radars and topics, once each, best
    first; every source family's latest day at once (as the front page), or one asked day."""
    asked_day = date_param(request, "date")
    page = _page_param(request)
    context: dict[str, Any] = {"my_radars": True, "asked_day": asked_day}
    if asked_day:
        days = [asked_day]
    else:
        latest = front.latest_days(front.version())
        days = list(latest.values())
        context["families"] = front.family_links(latest)
    day = asked_day or (max(days) if days else None)
    context["day"] = day
    items: list[FeedItem] = []
    if day is not None:
        offset = (page - 1) * MY_RADARS_PAGE
        found, total = my_radars_day(user=user, days=days, offset=offset)
        context["radar_paper_total"] = total
        if total > offset + len(found):
            context["next_url"] = url_with(
                "today",
                {
                    "view": "radars",
                    "date": asked_day.isoformat() if asked_day else "",
                    "page": page + 1,
                },
            )
        chips: dict[int, RadarChip] = {}
        shown = {radar.pk: radar for row in found for radar in row.radars}
        learned_from = radars_learned_from(shown.values(), reader=user)
        for radar in shown.values():
            own = radar.owner_id == user.pk
            url = reverse("radar:radar_feed" if own else "radar:topic", args=[radar.pk])
            chips[radar.pk] = RadarChip(radar.display_name, url)
        items = [
            FeedItem(
                card=paper_card(row.paper, offset + i + 1),
                score=row.score,
                # The reasons are those of the first radar's match (the best score).
                reasons=reasons_text(row.reasons, learned_from=learned_from[row.radars[0].pk]),
                radars=[chips[radar.pk] for radar in row.radars],
            )
            for i, row in enumerate(found)
        ]
        previous_day, next_day = feeds_selectors.adjacent_days(
            day, feeds_selectors.PaperFilters(), later=bool(asked_day)
        )
        context.update(
            previous_day=previous_day,
            next_day=next_day,
            previous_url=previous_day
            and url_with("today", {"view": "radars", "date": previous_day.isoformat()}),
            next_day_url=next_day
            and url_with("today", {"view": "radars", "date": next_day.isoformat()}),
        )
    papers = [item.card.paper for item in items]
    context.update(
        items=items,
        papers=papers,
        saved_ids=saved_paper_ids_for_user(user=user, papers=papers),
        # Nothing caught: say why when it is that the reader has no radar or topic yet.
        no_radars=not items and not user_has_radars(user=user),
    )
    if page > 1 and wants_partial(request):
        return render(request, "feeds/today.html#my-radars-items", context)
    return render(request, "feeds/today.html", context)


def _topic_extras(request: HtmxHttpRequest, radar: Radar) -> dict[str, Any]:
    subscription = subscription_of(user=request.user, radar=radar)
    extras: dict[str, Any] = {"following": subscription is not None}
    if radar.public:
        extras["subscriber_count"] = follower_count(radar=radar)
        extras["owner_name"] = owner_display_name(radar.owner)
    return extras


def _radar_feed(request: HtmxHttpRequest, radar_id: int, *, as_topic: bool) -> HttpResponse:
    radar = radar_readable(user=request.user, radar_id=radar_id)
    if radar is None:
        raise Http404("no such radar")
    page = _page_param(request)
    learned_from = radars_learned_from([radar], reader=request.user)[radar.pk]
    items, has_more = _feed_page(radar, request.user, page, learned_from)
    next_url = f"{request.path}?{urlencode({'page': page + 1})}" if has_more else ""
    papers = [item.card.paper for item in items]
    is_owner = request.user.is_authenticated and radar.owner_id == request.user.pk
    context: dict[str, Any] = {
        "radar": radar,
        "items": items,
        "papers": papers,
        # Every card's "why" box ends with it: worded once per page.
        "threshold_text": _("this radar shows papers from %(threshold)s")
        % {"threshold": whole_points(radar.threshold)},
        "next_url": next_url,
        "is_owner": is_owner,
        "page": page,
        "saved_ids": saved_paper_ids_for_user(user=request.user, papers=papers),
    }
    if page > 1 and wants_partial(request):
        response = render(request, "radar/feed.html#match-items", context)
    else:
        context.update(_topic_extras(request, radar), as_topic=as_topic)
        if is_owner:
            context.update(
                _feed_token_context(request, radar), learned=_learned(radar, learned_from)
            )
        context["first_page_url"] = request.path if page > 1 else ""
        # Saved (or edited) a moment ago and not yet matched: the page asks again by itself.
        context["matching_now"] = is_owner and page == 1 and not items and _matching_now(radar)
        response = render(request, "radar/feed.html", context)
        if is_owner and radar.feed_token:
            add_never_cache_headers(response)
    unseen = [item.card.paper.pk for item in items if item.is_new]
    if request.user.is_authenticated and unseen:
        # Shown now: the next visit no longer marks them new (a page seen before writes nothing).
        papers_mark_seen(user=request.user, paper_ids=unseen)
    return response


# What the radar's page shows of what it learned from the example and liked papers.
LEARNED_CATEGORIES_SHOWN = 3
LEARNED_WORDS_SHOWN = 8
# Learned words shorter than this are not shown (they read as noise: "rl", "cpd"), nor are
# abbreviations (`_readable_word`).
LEARNED_WORD_MIN = 3


class Learned(NamedTuple):
    """What a radar's page shows of what the example and liked papers taught it."""

    categories: list[str]  # "cs.CR 75 %" ("cs.CR 密码学与安全 75 %"), largest share first
    words: list[str]  # the words they share most, largest first
    points: int  # the most the liked part adds to a score
    source: str = LearnedFrom.LIKES  # what it was learned from (`LearnedFrom`)


def _readable_word(word: str) -> bool:
    """Whether a learned word is worth showing: at least LEARNED_WORD_MIN letters, not a
    number, not an abbreviation (a short word without a vowel, as "cpd" or "llm")."""
    if len(word) < LEARNED_WORD_MIN or not any(c.isalpha() for c in word):
        return False
    return not (len(word) <= 4 and word.isascii() and not set(word.lower()) & set("aeiouy"))


def _learned(radar: Radar, source: LearnedFrom = LearnedFrom.LIKES) -> Learned:
    """What the example and liked papers taught the radar (`radar.profiles.likes_learned`),
    for its owner to see; empty lists before any 👍 or example. Only the display is trimmed
    (at most LEARNED_WORDS_SHOWN readable words): the stored words all count."""
    categories = radar.learned.get("categories", {})
    words = radar.learned.get("words", {})
    top = sorted(categories.items(), key=lambda item: (-item[1], item[0]))
    readable = [word for word in words if _readable_word(word)]
    return Learned(
        categories=[
            f"{category_label(category)} {round(share * 100)} %"
            for category, share in top[:LEARNED_CATEGORIES_SHOWN]
        ],
        words=sorted(readable, key=lambda word: (-words[word], word))[:LEARNED_WORDS_SHOWN],
        points=whole_points(LIKED_CATEGORY + LIKED_WORDS_MAX),
        source=source if source != LearnedFrom.UNKNOWN else LearnedFrom.LIKES,
    )


# How long a saved radar's empty feed keeps asking for its first matches (the rescore of a
# new or edited radar normally takes seconds; a worker that is away should not make the page
# ask forever).
MATCHING_WAIT = timedelta(minutes=10)
# The rescore sets the profile first, then scores the week and stores the matches.
MATCHING_STORE = timedelta(seconds=30)


def _matching_now(radar: Radar) -> bool:
    """Whether the radar's matches may still be being worked out after a save."""
    now = timezone.now()
    if radar.updated_at < now - MATCHING_WAIT:
        return False
    return radar.profile_updated_at is None or radar.profile_updated_at > now - MATCHING_STORE


@require_GET
def radar_feed(request: HtmxHttpRequest, radar_id: int) -> HttpResponse:
    """A radar's matches, newest day first and best first, marked new until shown once."""
    return _radar_feed(request, radar_id, as_topic=False)


@require_POST
@login_required
def feedback(request: AuthedRequest, radar_id: int, paper_id: int) -> HttpResponse:
    """👍 (1), 👎 (-1) or clear (0) a paper of a radar the user can read: one of its matches,
    or one the user rated in it (a 👎 takes the paper out of the radar; it can be undone)."""
    radar = radar_readable(user=request.user, radar_id=radar_id)
    if radar is None:
        raise Http404("no such radar")
    paper = rated_or_matched_paper(user=request.user, radar=radar, paper_id=paper_id)
    if paper is None:
        raise Http404("no such match")
    raw = request.POST.get("value", "")
    if raw not in ("1", "-1", "0"):
        return HttpResponseBadRequest("value is 1, -1 or 0")
    value = feedback_set(user=request.user, radar=radar, paper=paper, value=int(raw))
    next_url = safe_next(request, reverse("radar:radar_feed", args=[radar.pk]))
    if not request.htmx:
        return HttpResponseRedirect(next_url)
    context = {
        "radar": radar,
        "paper": paper,
        "feedback": value or None,
        # The card stays on the page until it is reloaded: it says it left the radar.
        "hidden": value == -1,
        "feedback_next": next_url,
    }
    return render(request, "radar/_feedback.html", context)


# --- topics ---------------------------------------------------------------------------------

TOPIC_SORTS = ("subscribers", "name", "newest")


@require_GET
def topics(request: HtmxHttpRequest) -> HttpResponse:
    """The directory of public topics: search, sort, follow."""
    q = display_text(request.GET.get("q", "")).strip()[:200]
    sort = request.GET.get("sort", "")
    sort = sort if sort in TOPIC_SORTS else "subscribers"
    page = _page_param(request)
    offset = (page - 1) * TOPICS_PAGE_SIZE
    rows = list(topics_directory(q=q, sort=sort)[offset : offset + TOPICS_PAGE_SIZE + 1])
    has_more = len(rows) > TOPICS_PAGE_SIZE
    rows = rows[:TOPICS_PAGE_SIZE]
    followed: set[int] = set()
    if request.user.is_authenticated and rows:
        followed = set(
            Subscription.objects.filter(
                user_id=request.user.pk, radar_id__in=[t.pk for t in rows]
            ).values_list("radar_id", flat=True)
        )
    items = [
        {
            "topic": topic,
            "owner_name": owner_display_name(topic.owner),
            "following": topic.pk in followed,
            "is_own": topic.owner_id == request.user.pk,
        }
        for topic in rows
    ]

    def page_url(number: int) -> str:
        params = {"q": q, "sort": sort if sort != "subscribers" else "", "page": number}
        query = urlencode({k: v for k, v in params.items() if v and v != 1})
        return reverse("radar:topics") + (f"?{query}" if query else "")

    context = {
        "q": q,
        "sort": sort,
        "sorts": [
            ("subscribers", _("Most followed")),
            ("name", _("Name")),
            ("newest", _("Newest")),
        ],
        "items": items,
        "next_url": page_url(page + 1) if has_more else "",
        "previous_url": page_url(page - 1) if page > 1 else "",
    }
    return render(request, "radar/topics.html", context)


@require_GET
def topic_detail(request: HtmxHttpRequest, radar_id: int) -> HttpResponse:
    """A topic's page: its feed, description and follow button."""
    return _radar_feed(request, radar_id, as_topic=True)


@require_POST
@login_required
def follow(request: AuthedRequest, radar_id: int) -> HttpResponse:
    """Follow or stop following a public topic (private radars of others are 404)."""
    radar = radar_readable(user=request.user, radar_id=radar_id)
    if radar is None:
        raise Http404("no such topic")
    wanted = request.POST.get("subscribed")
    if wanted not in ("0", "1"):
        return HttpResponseBadRequest("subscribed is 0 or 1")
    try:
        following = subscription_set(user=request.user, radar=radar, subscribed=wanted == "1")
    except PermissionError as exc:
        raise Http404("no such topic") from exc
    next_url = safe_next(request, reverse("radar:topic", args=[radar.pk]))
    if not request.htmx:
        return HttpResponseRedirect(next_url)
    context: dict[str, Any] = {"topic": radar, "following": following, "follow_next": next_url}
    if request.POST.get("followers_shown") == "1":
        # The count beside the button changes with it, out of band (radar/_follow_swap.html).
        context["followers_shown"] = True
        context["followers"] = follower_count(radar=radar)
    return render(request, "radar/_follow_swap.html", context)
