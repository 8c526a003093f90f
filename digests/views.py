"""Views of the digests app."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from academichub.enqueue import enqueue
from academichub.web import AuthedRequest, HtmxHttpRequest
from accounts.models import Profile, SuppressedAddress
from accounts.services import profile_for, request_profile
from digests.bounces import webhook_view
from digests.briefings import READY, has_matches_for_test
from digests.delivery import radars_for_test
from digests.display import briefing_view
from digests.email import (
    edition_render,
    interface_language,
    radar_shown,
    radars_of,
    unsubscribe_token_read,
)
from digests.models import Briefing, Delivery
from digests.schedule import next_delivery
from digests.selectors import briefing_for_user, briefings_for_user, card_for_paper
from digests.tasks import briefing_test_send
from digests.unsubscribe import email_radar_stop, email_radars_choose, email_stop
from feeds.models import Paper
from radar.models import Radar, Subscription
from radar.selectors import saved_paper_ids_for_user

CARD_LANGUAGES = {"en", "zh", "both"}


@require_GET
def card_detail(request: HtmxHttpRequest, paper_id: int) -> HttpResponse:
    """A paper's summary card: the partial for htmx (polling, language toggle), else a page.

    Cards are shared by everyone, like the papers: any visitor may read any card; `?lang=`
    (en, zh, both) overrides the reader's preferred card language for this one card.
    """
    paper = get_object_or_404(Paper.objects.only("id", "key", "title"), id=paper_id)
    lang = request.GET.get("lang", "")
    context = {
        "paper": paper,
        "card": card_for_paper(paper.pk),
        "lang": lang if lang in CARD_LANGUAGES else "",
    }
    if request.htmx:
        return render(request, "digests/_card.html", context)
    return render(request, "digests/card.html", context)


# --- Briefings (issue 6) ----------------------------------------------------------------------

BRIEFINGS_PER_PAGE = 30
# One "send me a test briefing now" per user in this many seconds.
TEST_BRIEFING_INTERVAL = 120


def _briefing_rows(briefings: QuerySet[Briefing]) -> QuerySet[Briefing]:
    """Archive rows: the headline and mode read from the JSON in SQL, not the whole content."""
    return briefings.defer("content").annotate(
        headline=KT("content__headline"), mode=KT("content__mode")
    )


@require_GET
@login_required
def briefing_list(request: AuthedRequest) -> HttpResponse:
    """The user's briefings, newest first: every radar they own or follow."""
    page = Paginator(_briefing_rows(briefings_for_user(request.user)), BRIEFINGS_PER_PAGE)
    shown = page.get_page(request.GET.get("page"))
    return render(
        request,
        "digests/briefing_list.html",
        {"page": shown, "radar": None, **_next(request, shown.object_list)},
    )


def _next(request: AuthedRequest, rows: object, radar_id: int | None = None) -> dict[str, object]:
    """For an empty list: when the reader's next briefing email is due, in their zone, and
    their latest test email with its briefings (of one radar with `radar_id`), if any."""
    if rows:
        return {}
    profile = request_profile(request)
    test_email = (
        Delivery.objects.filter(user_id=request.user.pk, is_test=True)
        .exclude(state=Delivery.State.SKIPPED)
        .order_by("-created_at", "-id")
        .first()
    )
    tests: list[Briefing] = []
    if test_email is not None:
        tests = list(
            _briefing_rows(
                briefings_for_user(request.user, radar_id=radar_id, tests=True).filter(
                    pk__in=test_email.briefing_ids
                )
            ).order_by("radar__name", "radar_id", "language")
        )
    return {
        "next_delivery": next_delivery(profile, now=timezone.now()),
        "zone": profile.timezone if profile and profile.timezone else "UTC",
        "test_email": test_email,
        "test_briefings": tests,
    }


@require_GET
@login_required
def briefing_radar(request: AuthedRequest, radar_id: int) -> HttpResponse:
    """One radar's briefings, for its owner and its subscribers (404 for anyone else)."""
    follows = Subscription.objects.filter(user_id=request.user.pk, radar_id=OuterRef("pk"))
    radar = (
        Radar.objects.filter(pk=radar_id)
        .filter(Q(owner_id=request.user.pk) | Exists(follows))
        .defer("profile")
        .first()
    )
    if radar is None:
        raise Http404
    rows = _briefing_rows(briefings_for_user(request.user, radar_id=radar.pk))
    shown = Paginator(rows, BRIEFINGS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "digests/briefing_list.html",
        {"page": shown, "radar": radar, **_next(request, shown.object_list, radar.pk)},
    )


@require_GET
@login_required
def briefing_detail(request: AuthedRequest, briefing_id: int) -> HttpResponse:
    """A briefing: themes, links between fields, what to read first, and its papers as cards."""
    # A test email links to its own briefings: the reader opens them by the same rule.
    briefing = briefing_for_user(request.user, briefing_id, tests=True)
    if briefing is None:
        raise Http404
    view = briefing_view(briefing)
    saved = saved_paper_ids_for_user(user=request.user, papers=[p.paper for p in view.papers])
    other = (
        briefings_for_user(request.user, radar_id=briefing.radar_id, tests=briefing.is_test)
        .filter(
            cadence=briefing.cadence, period_start=briefing.period_start, is_test=briefing.is_test
        )
        .exclude(pk=briefing.pk)
        .defer("content")
    )
    if briefing.is_test:  # the other language of the same test (the same window)
        other = other.filter(window_end=briefing.window_end)
    return render(
        request,
        "digests/briefing.html",
        {
            "briefing": briefing,
            "view": view,
            "cards": [(p, p.paper.pk in saved) for p in view.papers],
            "other_languages": list(other),
            "lang": "zh-Hans" if briefing.language == Briefing.Language.ZH else "en",
        },
    )


@require_POST
@login_required
def briefing_test(request: AuthedRequest) -> HttpResponse:
    """Settings: "send me a test briefing now" (mailed by a task, at most every 2 minutes).
    The page only says one is on its way when the reader's radars have matches of the last
    day to make it from (what the task builds from); "just sent" only after one was."""
    key = f"briefing-test:{request.user.pk}"
    if not Subscription.objects.filter(user_id=request.user.pk).exists():
        messages.info(request, _("Follow a radar or a topic first: briefings are made from them."))
    elif cache.get(key) is not None:
        messages.info(request, _test_recent(request.user.pk))
    elif not has_matches_for_test(radars_for_test(request.user.pk), timezone.now()):
        messages.info(
            request,
            _(
                "Your radars have no new papers in the last day yet, so there is nothing to "
                "send; try again after they catch some."
            ),
        )
    elif not cache.add(key, 1, timeout=TEST_BRIEFING_INTERVAL):
        messages.info(request, _test_recent(request.user.pk))
    # Nothing was written, so there is no commit to wait for: queued now, or not at all.
    elif enqueue(briefing_test_send, request.user.pk):
        messages.success(
            request,
            _("A test briefing is on its way to %(email)s.") % {"email": request.user.email},
        )
        # No count here: the email is made after this answer, and its own count (papers,
        # each once however many radars caught it) is the one the reader should see.
        messages.info(
            request,
            _(
                "It is made now from the new papers your radars caught in the last day, even "
                "though your regular briefing period has not closed; the email says how many."
            ),
        )
    else:
        cache.delete(key)
        messages.error(
            request,
            _(
                "The test briefing could not be queued: the system that sends it is not "
                "available right now. Please try again in a few minutes."
            ),
        )
    return redirect("accounts:settings")


def _test_recent(user_id: int) -> str:
    """What a second press within the interval is told: sent, or still being made."""
    sent = Delivery.objects.filter(
        user_id=user_id,
        is_test=True,
        state=Delivery.State.SENT,
        created_at__gt=timezone.now() - timedelta(seconds=TEST_BRIEFING_INTERVAL),
    )
    if sent.exists():
        return _("A test briefing was just sent; please wait a few minutes.")
    return _("Your test briefing is still being made; please wait a few minutes.")


# --- Briefing emails: the archive (issue 14) ---------------------------------------------------

EMAILS_PER_PAGE = 30


@require_GET
@login_required
def email_list(request: AuthedRequest) -> HttpResponse:
    """The reader's briefing emails, newest first, each with the radars it covered."""
    rows = Delivery.objects.filter(user_id=request.user.pk).exclude(state=Delivery.State.SKIPPED)
    # By period first, as delivery_archive_idx (user, -period_start) is ordered.
    rows = rows.order_by("-period_start", "-created_at", "-id")
    page = Paginator(rows, EMAILS_PER_PAGE).get_page(request.GET.get("page"))
    ids = {b for d in page.object_list for b in d.briefing_ids}
    # Those with a section in the email; each named as it was mailed (`radars_of`).
    briefings = {
        b.pk: b
        for b in Briefing.objects.filter(id__in=ids, status__in=READY)
        .select_related("radar")
        .only("id", "radar_name", "radar", "radar__name", "radar__public", "radar__owner")
    }
    emails = [
        (d, sorted({radar_shown(e) for e in radars_of(d, briefings)}, key=str.casefold))
        for d in page.object_list
    ]
    return render(request, "digests/email_list.html", {"page": page, "emails": emails})


# A style attribute of our email templates (their values never hold a double quote).
_INLINE_STYLE = re.compile(r'\sstyle="[^"]*"')


@require_GET
@login_required
def email_detail(request: AuthedRequest, delivery_id: int) -> HttpResponse:
    """One of the reader's briefing emails, as it was mailed ("view in browser")."""
    delivery = (
        Delivery.objects.filter(pk=delivery_id, user_id=request.user.pk)
        .exclude(state=Delivery.State.SKIPPED)
        .select_related("user__profile")
        .first()
    )
    if delivery is None:
        raise Http404
    rendered = edition_render(delivery)
    # The email's inline styles are for mail clients; the site's CSP would refuse each one
    # (a console error apiece) and its own styles apply here instead.
    content = mark_safe(_INLINE_STYLE.sub("", rendered.html))  # noqa: S308 (our own output)
    return render(
        request,
        "digests/email_detail.html",
        {
            "delivery": delivery,
            "content_html": content,
            "lang": "zh-Hans" if interface_language(delivery) == "zh-hans" else "en",
        },
    )


# RFC 8058 one-click unsubscribe: mail providers POST "List-Unsubscribe=One-Click" without
# cookies, so without a CSRF token. The signed token in the URL is the credential, and all
# it can do is turn a reader's briefing emails off (or some of their radars'); a forged
# cross-site POST would need that token anyway. Hence CSRF is off for this one view. GET
# only shows a page with the choices (link scanners fetch links), and answers are 200
# without a redirect. One email covers every radar of the reader, so the one-click POST
# stops the briefing email; the page also offers to stop single radars only. Tokens of
# emails sent before (one per radar) still stop that radar's part.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Stop the briefing email (or some radars in it) of the reader the token names."""
    found = unsubscribe_token_read(token)
    user = None
    if found is not None:
        user = get_user_model().objects.filter(pk=found[0]).first()
    if found is None or user is None:
        return render(request, "digests/unsubscribe.html", {"invalid": True}, status=400)
    user_id, only_radar = found
    profile = profile_for(user)
    done = ""
    if request.method == "POST":
        if only_radar is not None:
            email_radar_stop(user_id=user_id, radar_id=only_radar)
            done = "radar"
        elif request.POST.get("choice") == "radars":
            keep = {int(r) for r in request.POST.getlist("radar") if r.isdigit()}
            email_radars_choose(profile=profile, radar_ids=keep)
            done = "radars"
        else:
            email_stop(profile=profile)
            done = "all"
    subs = _followed(user_id, only_radar)
    context = {
        "token": token,
        "done": done,
        "only_radar": only_radar,
        "email_on": profile.digest_frequency != Profile.Frequency.OFF,
        "subscriptions": subs,
        "radar_name": subs[0].radar.display_name if only_radar is not None and subs else "",
    }
    with translation.override(profile.language):
        return render(request, "digests/unsubscribe.html", context)


def _followed(user_id: int, radar_id: int | None) -> list[Subscription]:
    """The reader's subscriptions (to one radar only, with `radar_id`), radars loaded."""
    subs = Subscription.objects.filter(user_id=user_id)
    if radar_id is not None:
        subs = subs.filter(radar_id=radar_id)
    return list(
        subs.select_related("radar").defer("radar__profile").order_by("radar__name", "radar_id")
    )


# The mail provider's bounce and complaint reports (its tracking webhook): anymail's view
# checks the request's signature or basic auth and rejects a bad one with 400; a provider with
# nothing set to authenticate it has no URL (404). digests.bounces acts on them. (HEAD: some
# providers check the URL with one when it is set up.)
@csrf_exempt
@require_http_methods(["POST", "HEAD"])
def mail_events(request: HttpRequest, provider: str) -> HttpResponse:
    """Receive a mail provider's delivery events (bounces and complaints)."""
    view = webhook_view(provider)
    if view is None:
        raise Http404
    return view(request)


@require_GET
@staff_member_required
def deliveries_staff(request: HttpRequest) -> HttpResponse:
    """Staff: recent deliveries, the flagged and failed ones, and briefings that failed."""
    since = timezone.now() - timedelta(days=7)
    counts = dict(
        Delivery.objects.filter(created_at__gte=since)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    rows = Delivery.objects.select_related("user")
    return render(
        request,
        "digests/briefing_deliveries.html",
        {
            "counts": [(label, counts.get(state, 0)) for state, label in Delivery.State.choices],
            "flagged": list(rows.filter(flagged=True).order_by("-updated_at")[:100]),
            "failed": list(
                rows.filter(state=Delivery.State.FAILED, created_at__gte=since).order_by(
                    "-updated_at"
                )[:100]
            ),
            "recent": list(rows.order_by("-created_at", "-id")[:50]),
            "suppressed": SuppressedAddress.objects.count(),
            "briefings_failed": list(
                Briefing.objects.filter(
                    status__in=[Briefing.Status.FAILED, Briefing.Status.PENDING],
                    created_at__gte=since,
                )
                .select_related("radar")
                .defer("radar__profile", "content")
                .order_by("-created_at")[:50]
            ),
        },
    )
