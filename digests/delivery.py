"""The delivery state machine: one Delivery row per briefing email, each sent at most once.

Every 15 minutes `dispatch_find` takes the subscriptions whose period is due (see
`digests.schedule`). For each radar and period it builds (or reuses) the briefing of each
language wanted, writes one Delivery row per user — unique per user, radar and period, with
its Message-ID made before any attempt — and sends them (over `digests.mailer`): the beat
task enqueues that work, `dispatch_due` does it in the calling process.

Sending claims a row by a conditional UPDATE (pending → sending) before the SMTP
conversation and marks it sent afterwards. A server that cannot be reached or answers 4xx
leaves the row pending with a growing backoff (the rest of the batch waits for the next run,
other recipients' 4xx do not stop anyone). A 5xx refusal makes it failed. When the outcome is
unknown — the connection dropped after the message was handed over, or the worker died —
the row stays `sending` and is flagged for staff (after SENDING_TIMEOUT for a dead worker):
it is never sent again automatically, so nobody receives a briefing twice.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import batched
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Profile
from digests.briefings import READY, briefing_ensure
from digests.display import BriefingView, briefing_views
from digests.email import SectionCache, briefing_message, message_id_new
from digests.mailer import Mailer, SendDeferred, SendRefused, SendUnknown
from digests.models import Briefing, Delivery
from digests.schedule import LANGUAGES, Due, subscriptions_current, subscriptions_due, zone_named
from radar.models import Radar, Subscription

logger = logging.getLogger(__name__)

# A row still `sending` after this was left by a worker that died mid-send: flagged, not resent.
SENDING_TIMEOUT = timedelta(minutes=15)
# Retries after a deferral: 5, 10, 20 … minutes, capped at 2 h; failed after MAX_SEND_ATTEMPTS.
SEND_BACKOFF_BASE = timedelta(minutes=5)
SEND_BACKOFF_CAP = timedelta(hours=2)
MAX_SEND_ATTEMPTS = 8
# Rows sent by one batch at most, and the time it may take (under the task's soft limit).
BATCH_SIZE = 2000
# Deliveries loaded at once (with their users, radars and briefings) by a batch.
LOAD_CHUNK = 200
# How long a dispatcher waits for a briefing another one is building (seconds): about two
# LLM calls; and how often it looks.
BUILD_WAIT = 150.0
BUILD_POLL = 0.25
# "Send me a test briefing now": at most one per user in this time.
TEST_INTERVAL = timedelta(minutes=2)


# --- Briefings and Delivery rows -------------------------------------------------------------


def _briefings_for(due: Sequence[Due], now: datetime) -> dict[tuple[Any, ...], Briefing]:
    """Build or reuse the briefing of each radar, period and language these rows want."""
    wanted = sorted(
        {(d.radar_id, d.cadence, d.period_start, lang) for d in due for lang in d.languages}
    )
    briefings = {
        key: briefing_ensure(
            radar_id=key[0], cadence=key[1], period_start=key[2], language=key[3], now=now
        )
        for key in wanted
    }
    _await_builders(list(briefings.values()), now)
    return briefings


def _await_builders(briefings: list[Briefing], now: datetime) -> None:
    """Wait (bounded) for briefings another worker is building right now, so that two
    dispatchers running at once still send everyone their email at its hour; one left
    pending simply waits for the next run."""
    polls = int(BUILD_WAIT / BUILD_POLL)
    for briefing in briefings:
        while (
            polls > 0
            and briefing.status == Briefing.Status.PENDING
            and briefing.claimed_until is not None
            and briefing.claimed_until > now
        ):
            time.sleep(BUILD_POLL)
            polls -= 1
            briefing.refresh_from_db()


def deliveries_create(
    due: Sequence[Due], briefings: dict[tuple[Any, ...], Briefing], *, now: datetime
) -> int:
    """Delivery rows for the due subscriptions whose briefings are ready (pending, or
    skipped when every briefing is empty); those waiting for a briefing get none yet.
    Returns how many rows were written (a row already there is left alone)."""
    rows = []
    for d in due:
        wanted = [briefings[(d.radar_id, d.cadence, d.period_start, lang)] for lang in d.languages]
        if any(b.status == Briefing.Status.PENDING for b in wanted):
            continue
        ready = {b.language: b for b in wanted if b.readable}
        rows.append(
            Delivery(
                user_id=d.user_id,
                radar_id=d.radar_id,
                cadence=d.cadence,
                period_start=d.period_start,
                briefing_en=ready.get("en"),
                briefing_zh=ready.get("zh"),
                state=Delivery.State.PENDING if ready else Delivery.State.SKIPPED,
                message_id=message_id_new() if ready else "",
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    # The unique (user, radar, period) constraint makes a second dispatcher's rows no-ops.
    return len(Delivery.objects.bulk_create(rows, ignore_conflicts=True))


def _pending_ids(radar_id: int, cadence: str, period_start: date, now: datetime) -> list[int]:
    return list(
        Delivery.objects.filter(
            radar_id=radar_id,
            cadence=cadence,
            period_start=period_start,
            is_test=False,
            state=Delivery.State.PENDING,
            next_attempt_at__lte=now,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def deliver_group(
    radar_id: int,
    cadence: str,
    period_start: date,
    *,
    now: datetime | None = None,
    mailer: Mailer | None = None,
) -> Counter[str]:
    """Build one radar's briefings for one period and send them to its due subscribers."""
    # The task's time runs from here: building may take several LLM calls, and what is left
    # of the limit afterwards is all the sending gets (the rest waits for the next dispatch).
    started = time.monotonic()
    now = now or timezone.now()
    due = [
        d
        for d in subscriptions_due(now=now, radar_id=radar_id)
        if d.cadence == cadence and d.period_start == period_start
    ]
    counts: Counter[str] = Counter()
    if due:
        counts["created"] = deliveries_create(due, _briefings_for(due, now), now=now)
    ids = _pending_ids(radar_id, cadence, period_start, now)
    counts.update(
        deliveries_send(
            ids,
            now=now,
            mailer=mailer,
            started=started,
            budget=GROUP_TIME_FACTOR * _batch_seconds(),
        )
    )
    return counts


def radar_briefings_now(
    radar: Radar, *, send: bool, now: datetime | None = None
) -> tuple[list[Briefing], Counter[str]]:
    """`manage.py briefings`: build the current period's briefings of a radar (the periods
    and languages its subscribers want; the owner's daily one if nobody wants email) and,
    with `send`, mail them now to every subscriber not yet sent that period. Returns the
    briefings and the deliveries' outcomes."""
    now = now or timezone.now()
    due = subscriptions_current(now=now, radar_id=radar.pk)
    if due:
        briefings = _briefings_for(due, now)
    else:
        profile = Profile.objects.filter(user_id=radar.owner_id).first()
        language = profile.card_language if profile else Subscription.Language.BOTH
        today = now.astimezone(zone_named(profile.timezone if profile else "UTC")).date()
        briefings = {
            (radar.pk, Briefing.Cadence.DAY, today, lang): briefing_ensure(
                radar_id=radar.pk,
                cadence=Briefing.Cadence.DAY,
                period_start=today,
                language=lang,
                now=now,
            )
            for lang in LANGUAGES[language]
        }
    counts: Counter[str] = Counter()
    if send and due:
        counts["created"] = deliveries_create(due, briefings, now=now)
        for cadence, start in sorted({(d.cadence, d.period_start) for d in due}):
            counts.update(deliveries_send(_pending_ids(radar.pk, cadence, start, now), now=now))
    return list(briefings.values()), counts


# --- Sending ---------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    return min(SEND_BACKOFF_BASE * (1 << max(attempts - 1, 0)), SEND_BACKOFF_CAP)


def _finish(delivery_id: int, state: str, **fields: Any) -> None:
    """Record how a claimed send ended (only a row still `sending` is changed)."""
    Delivery.objects.filter(pk=delivery_id, state=Delivery.State.SENDING).update(
        state=state, updated_at=timezone.now(), **fields
    )


def delivery_send(
    delivery: Delivery,
    *,
    mailer: Mailer,
    now: datetime | None = None,
    views: dict[int, BriefingView] | None = None,
    sections: SectionCache | None = None,
    subscribed: bool = True,
) -> str:
    """Send one pending delivery (loaded with its user, profile, radar and briefings) if this
    worker claims it; returns what happened (sent, deferred, failed, unknown, skipped).
    `subscribed`: whether the user still wants this radar's emails (tests are sent anyway)."""
    now = now or timezone.now()
    # The claim also checks the row is as it was loaded, so a stale copy never sends.
    claimed = Delivery.objects.filter(
        pk=delivery.pk,
        state=Delivery.State.PENDING,
        attempts=delivery.attempts,
        next_attempt_at__lte=now,
    ).update(
        state=Delivery.State.SENDING,
        sending_since=now,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if claimed != 1:
        return "skipped"
    delivery.attempts += 1
    if not delivery.is_test and not subscribed:
        _finish(delivery.pk, Delivery.State.SKIPPED, last_error="unsubscribed before sending")
        return "skipped"
    if not delivery.user.is_active or not delivery.user.email:
        _finish(delivery.pk, Delivery.State.FAILED, last_error="the user has no active address")
        return "failed"
    if views is None:
        views = {}
    missing = [b for b in delivery.briefings if b.pk not in views]
    if missing:
        views.update(briefing_views(missing))
    message = briefing_message(delivery, views, sections)
    try:
        mailer.send(message)
    except SendDeferred as exc:
        given_up = delivery.attempts >= MAX_SEND_ATTEMPTS
        _finish(
            delivery.pk,
            Delivery.State.FAILED if given_up else Delivery.State.PENDING,
            next_attempt_at=now + _backoff(delivery.attempts),
            sending_since=None,
            last_error=str(exc)[:2000],
        )
        logger.info("delivery %s deferred: %s", delivery.pk, exc)
        return "failed" if given_up else "deferred"
    except SendRefused as exc:
        _finish(delivery.pk, Delivery.State.FAILED, last_error=str(exc)[:2000])
        logger.warning("delivery %s refused: %s", delivery.pk, exc)
        return "failed"
    except SendUnknown as exc:
        # Maybe delivered: never resent automatically; staff see it flagged.
        Delivery.objects.filter(pk=delivery.pk).update(
            flagged=True, last_error=str(exc)[:2000], updated_at=timezone.now()
        )
        logger.warning("delivery %s outcome unknown: %s", delivery.pk, exc)
        return "unknown"
    _finish(delivery.pk, Delivery.State.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def _loaded(ids: Sequence[int]) -> tuple[list[Delivery], set[tuple[int, int]]]:
    """These deliveries, still pending, with all an email needs (one query), and the
    (user, radar) pairs among them whose subscription still wants emails (one query)."""
    rows = list(
        Delivery.objects.filter(id__in=list(ids), state=Delivery.State.PENDING)
        .select_related("user__profile", "radar", "briefing_en", "briefing_zh")
        .defer("radar__profile")
        .order_by("id")
    )
    wanted = set(
        Subscription.objects.filter(
            user_id__in={d.user_id for d in rows}, radar_id__in={d.radar_id for d in rows}
        )
        .exclude(frequency=Subscription.Frequency.OFF)
        # The settings page's "off" stops every briefing email, also one already queued.
        .exclude(user__profile__digest_frequency="off")
        .values_list("user_id", "radar_id")
    )
    return rows, wanted


# briefing_deliver's limits are this many times the default task's (digests/tasks.py).
GROUP_TIME_FACTOR = 3


def _batch_seconds() -> float:
    # Stop well inside the task's soft time limit; what is left waits for the next run.
    return max(5.0, 0.6 * float(settings.CELERY_TASK_SOFT_TIME_LIMIT))


def deliveries_send(
    delivery_ids: Iterable[int],
    *,
    now: datetime | None = None,
    mailer: Mailer | None = None,
    started: float | None = None,
    budget: float | None = None,
) -> Counter[str]:
    """Send these deliveries over one connection (`mailer`'s, if given: it is left open);
    returns counts by outcome. When the server cannot be reached, the rest of the batch is
    left pending for the next run."""
    ids = list(delivery_ids)
    counts: Counter[str] = Counter()
    own = mailer is None
    mailer = mailer or Mailer()
    views: dict[int, BriefingView] = {}
    sections: SectionCache = {}
    # Sending stops `budget` seconds after `started` (time.monotonic()), inside the task's
    # soft time limit; what is left stays pending for the next run.
    started = time.monotonic() if started is None else started
    budget = _batch_seconds() if budget is None else budget
    try:
        for chunk in batched(ids, LOAD_CHUNK):
            rows, wanted = _loaded(chunk)
            if len(rows) < len(chunk):
                counts["skipped"] += len(chunk) - len(rows)
            for delivery in rows:
                if time.monotonic() - started > budget or mailer.down:
                    counts["left"] += 1
                    continue
                subscribed = (delivery.user_id, delivery.radar_id) in wanted
                outcome = delivery_send(
                    delivery,
                    mailer=mailer,
                    now=now,
                    views=views,
                    sections=sections,
                    subscribed=subscribed,
                )
                counts[outcome] += 1
    finally:
        if own:
            mailer.close()
    return counts


def deliveries_due(*, now: datetime, limit: int = BATCH_SIZE) -> list[int]:
    """Pending deliveries whose (next) attempt is due, oldest first."""
    return list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def deliveries_flag_stale(*, now: datetime) -> int:
    """Flag rows left `sending` by a worker that died: maybe sent, so never resent."""
    count = Delivery.objects.filter(
        state=Delivery.State.SENDING,
        flagged=False,
        sending_since__lt=now - SENDING_TIMEOUT,
    ).update(
        flagged=True,
        last_error="the sender stopped during the SMTP conversation; the email may have "
        "been sent: check before sending it again",
        updated_at=now,
    )
    if count:
        logger.warning("%s deliveries flagged: stuck in sending", count)
    return count


def deliveries_retry(delivery_ids: Iterable[int]) -> int:
    """Staff: send these failed or flagged deliveries again (same Message-ID, so a copy
    that did arrive can be recognised by mail clients)."""
    return (
        Delivery.objects.filter(id__in=list(delivery_ids))
        # A row being sent right now is not flagged yet: resetting it would send it twice.
        .filter(Q(state=Delivery.State.FAILED) | Q(state=Delivery.State.SENDING, flagged=True))
        .update(
            state=Delivery.State.PENDING,
            flagged=False,
            attempts=0,
            next_attempt_at=timezone.now(),
            sending_since=None,
            updated_at=timezone.now(),
        )
    )


@dataclass(frozen=True, slots=True)
class Dispatch:
    """What one dispatcher run found due, for the beat task to enqueue."""

    now: datetime
    due: int
    flagged: int
    # (radar id, cadence, period start) of each radar and period with due subscribers.
    groups: list[tuple[int, str, date]]


def dispatch_find(*, now: datetime | None = None) -> Dispatch:
    """Beat, every 15 minutes: flag stale sends and find every radar and period with due
    subscribers (the beat task enqueues their building and sending)."""
    now = now or timezone.now()
    flagged = deliveries_flag_stale(now=now)
    due = subscriptions_due(now=now)
    groups = sorted({(d.radar_id, d.cadence, d.period_start) for d in due})
    return Dispatch(now=now, due=len(due), flagged=flagged, groups=groups)


def dispatch_due(*, now: datetime | None = None) -> dict[str, int]:
    """What the beat's dispatch does, here and now: find what is due, build and send it, then
    the deliveries whose retry is due; returns counts."""
    found = dispatch_find(now=now)
    # One connection for the run; once the server is found down, the rest waits.
    mailer = Mailer()
    try:
        for radar_id, cadence, start in found.groups:
            deliver_group(radar_id, cadence, start, now=found.now, mailer=mailer)
        deliveries_send(deliveries_due(now=found.now), now=found.now, mailer=mailer)
    finally:
        mailer.close()
    return {"due": found.due, "groups": len(found.groups), "flagged": found.flagged}


# --- A test briefing on demand ---------------------------------------------------------------


def briefing_test_send(user: AbstractBaseUser, *, now: datetime | None = None) -> str:
    """ "Send me a test briefing now": the latest briefing of one of the user's radars (built
    now for today if none has content yet) mailed at once, marked as a test; outside the
    once-per-period rule. Returns sent, deferred, failed, unknown, recent or nothing."""
    now = now or timezone.now()
    if Delivery.objects.filter(
        user_id=user.pk, is_test=True, created_at__gt=now - TEST_INTERVAL
    ).exists():
        return "recent"
    subs = list(
        Subscription.objects.filter(user_id=user.pk, radar__active=True)
        .select_related("radar")
        .defer("radar__profile")
        .order_by("radar__name", "id")
    )
    # The user's own radars first, then the topics they follow.
    subs.sort(key=lambda s: s.radar.owner_id != user.pk)
    chosen: list[Briefing] = []
    for sub in subs:
        languages = LANGUAGES[sub.language]
        latest = list(
            Briefing.objects.filter(
                radar_id=sub.radar_id,
                language__in=languages,
                status__in=READY,
            ).order_by("-window_end", "-id")
        )
        if latest:
            first = latest[0]
            chosen = [
                b
                for b in latest
                if (b.cadence, b.period_start) == (first.cadence, first.period_start)
            ]
            break
    if not chosen:
        profile = Profile.objects.filter(user_id=user.pk).first()
        today = now.astimezone(zone_named(profile.timezone if profile else "UTC")).date()
        for sub in subs:
            built = [
                briefing_ensure(
                    radar_id=sub.radar_id,
                    cadence=Briefing.Cadence.DAY,
                    period_start=today,
                    language=lang,
                    now=now,
                )
                for lang in LANGUAGES[sub.language]
            ]
            chosen = [b for b in built if b.readable]
            if chosen:
                break
    if not chosen:
        return "nothing"
    by_language = {b.language: b for b in chosen}
    delivery = Delivery.objects.create(
        user_id=user.pk,
        radar_id=chosen[0].radar_id,
        cadence=chosen[0].cadence,
        period_start=chosen[0].period_start,
        briefing_en=by_language.get("en"),
        briefing_zh=by_language.get("zh"),
        is_test=True,
        message_id=message_id_new(),
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    counts = deliveries_send([delivery.pk], now=now)
    return next((outcome for outcome, n in counts.items() if n), "skipped")
