"""The delivery state machine: one Delivery row per reader and period, each sent at most once.

Every 15 minutes `dispatch_find` takes the readers whose period is due (see
`digests.schedule`) and the radars their emails cover. Each radar's briefings of the period
are built (or reused: one per radar, period and language, shared by every reader), and a
reader's row is written once every briefing their email needs is ready — by whichever
radar's task finishes last — unique per reader and period, with its Message-ID made before
any attempt, then sent (over `digests.mailer`): the beat task enqueues one task per radar,
`dispatch_due` does all of it in the calling process.

Sending claims a row by a conditional UPDATE (pending → sending) before the SMTP
conversation and marks it sent afterwards. A server that cannot be reached or answers 4xx
leaves the row pending with a growing backoff (the rest of the batch waits for the next run,
other recipients' 4xx do not stop anyone); `manage.py briefings --send` sends what is owed
for the current period at once, whatever the backoff. A 5xx refusal makes it failed, with
the server's words. When the outcome is
unknown — the connection dropped after the message was handed over, or the worker died —
the row stays `sending` and is flagged for staff (after SENDING_TIMEOUT for a dead worker):
it is never sent again automatically, so nobody receives a briefing twice. An address that
bounced for good or complained (`accounts.SuppressedAddress`) is never mailed.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import batched
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Profile
from accounts.selectors import suppressed_addresses
from digests.briefings import briefing_ensure, briefing_test_ensure
from digests.email import MailCache, briefing_message, edition_render, message_id_new
from digests.mailer import Mailer, SendDeferred, SendRefused, SendUnknown
from digests.models import Briefing, Delivery
from digests.schedule import (
    LANGUAGES,
    Due,
    period_due,
    readers_current,
    readers_due,
    summary_language,
    without_deliveries,
    zone_named,
)
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
# Deliveries loaded at once (with their users and briefings) by a batch.
LOAD_CHUNK = 200
# How long a dispatcher waits for a briefing another one is building (seconds): about two
# LLM calls; and how often it looks.
BUILD_WAIT = 150.0
BUILD_POLL = 0.25
# "Send me a test briefing now": at most one per user in this time.
TEST_INTERVAL = timedelta(minutes=2)

# (radar id, cadence, period start, language): one shared briefing.
Key = tuple[int, str, date, str]


# --- Briefings and Delivery rows -------------------------------------------------------------


def _keys(due: Iterable[Due], radar_id: int | None = None) -> set[Key]:
    """The briefings these readers' emails need (of one radar only, with `radar_id`)."""
    return {
        (rid, d.cadence, d.period_start, lang)
        for d in due
        for rid in d.radar_ids
        if radar_id is None or rid == radar_id
        for lang in d.languages
    }


def _briefings_for(keys: Iterable[Key], now: datetime) -> dict[Key, Briefing]:
    """Build or reuse the briefing of each radar, period and language."""
    briefings = {
        key: briefing_ensure(
            radar_id=key[0], cadence=key[1], period_start=key[2], language=key[3], now=now
        )
        for key in sorted(keys)
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


def _existing(due: Sequence[Due], known: dict[Key, Briefing]) -> dict[Key, Briefing]:
    """`known` plus the briefings these readers need that already exist (one query)."""
    missing = _keys(due) - set(known)
    found = dict(known)
    if missing:
        rows = Briefing.objects.filter(
            radar_id__in={k[0] for k in missing},
            cadence__in={k[1] for k in missing},
            period_start__in={k[2] for k in missing},
            is_test=False,
        ).defer("content")
        for b in rows:
            key = (b.radar_id, b.cadence, b.period_start, b.language)
            if key in missing:
                found[key] = b
    return found


def deliveries_create(due: Sequence[Due], briefings: dict[Key, Briefing], *, now: datetime) -> int:
    """Delivery rows for the due readers all of whose briefings are ready (pending, or
    skipped when every one is empty); a reader still waiting for a briefing (not made yet,
    or being made) gets none yet. Returns how many rows were written (a row already there
    is left alone)."""
    briefings = _existing(due, briefings)
    rows = []
    for d in due:
        wanted = [
            briefings.get((rid, d.cadence, d.period_start, lang))
            for rid in d.radar_ids
            for lang in d.languages
        ]
        ready = [b for b in wanted if b is not None and b.status != Briefing.Status.PENDING]
        if len(ready) < len(wanted):
            continue
        content = any(b.readable for b in ready)
        rows.append(
            Delivery(
                user_id=d.user_id,
                cadence=d.cadence,
                period_start=d.period_start,
                language=d.language,
                briefing_ids=[b.pk for b in ready],
                state=Delivery.State.PENDING if content else Delivery.State.SKIPPED,
                message_id=message_id_new() if content else "",
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    # The unique (user, period) constraint makes a second dispatcher's rows no-ops.
    return len(Delivery.objects.bulk_create(rows, ignore_conflicts=True))


def _pending_ids(due: Sequence[Due], now: datetime) -> list[int]:
    """The pending, due rows of these readers' periods."""
    ids: list[int] = []
    by_period: defaultdict[tuple[str, date], set[int]] = defaultdict(set)
    for d in due:
        by_period[(d.cadence, d.period_start)].add(d.user_id)
    for (cadence, start), users in sorted(by_period.items()):
        ids += Delivery.objects.filter(
            user_id__in=users,
            cadence=cadence,
            period_start=start,
            is_test=False,
            state=Delivery.State.PENDING,
            next_attempt_at__lte=now,
        ).values_list("id", flat=True)
    return sorted(ids)


def deliver_group(
    radar_id: int,
    cadence: str,
    period_start: date,
    *,
    now: datetime | None = None,
    mailer: Mailer | None = None,
    cache: MailCache | None = None,
) -> Counter[str]:
    """Build one radar's briefings for one period, then write and send the emails of its
    due readers whose other briefings are ready too (the others wait for their last one).
    `cache`: what a run already loaded and rendered."""
    # The task's time runs from here: building may take several LLM calls, and what is left
    # of the limit afterwards is all the sending gets (the rest waits for the next dispatch).
    started = time.monotonic()
    now = now or timezone.now()
    due = [
        d
        for d in readers_due(now=now, radar_id=radar_id)
        if d.cadence == cadence and d.period_start == period_start
    ]
    counts: Counter[str] = Counter()
    if due:
        built = _briefings_for(_keys(due, radar_id), now)
        counts["created"] = deliveries_create(due, built, now=now)
    counts.update(
        deliveries_send(
            _pending_ids(due, now),
            now=now,
            mailer=mailer,
            started=started,
            budget=GROUP_TIME_FACTOR * _batch_seconds(),
            cache=cache,
        )
    )
    return counts


def _owed_ids(current: Sequence[Due], now: datetime) -> list[int]:
    """The pending rows of these readers' current periods, made due now whatever their
    back-off (an operator's run after an outage sends what is owed at once). Only a later
    retry time is moved, so runs at once all keep a time their claim accepts."""
    ids: list[int] = []
    by_period: defaultdict[tuple[str, date], set[int]] = defaultdict(set)
    for d in current:
        by_period[(d.cadence, d.period_start)].add(d.user_id)
    for (cadence, start), users in sorted(by_period.items()):
        rows = Delivery.objects.filter(
            user_id__in=users,
            cadence=cadence,
            period_start=start,
            is_test=False,
            state=Delivery.State.PENDING,
        )
        rows.filter(next_attempt_at__gt=now).update(next_attempt_at=now)
        ids += rows.values_list("id", flat=True)
    return sorted(ids)


def _now_for(
    current: list[Due], *, send: bool, now: datetime
) -> tuple[list[Briefing], Counter[str]]:
    """Build every briefing these readers' current emails need and, with `send`, write the
    emails not written yet and mail every one still owed (new, pending or deferred)."""
    briefings = _briefings_for(_keys(current), now)
    counts: Counter[str] = Counter()
    if send and current:
        counts["created"] = deliveries_create(without_deliveries(current), briefings, now=now)
        counts.update(deliveries_send(_owed_ids(current, now), now=now))
    # Only what happened: a run with nothing owed reports nothing.
    return list(briefings.values()), +counts


def reader_briefings_now(
    user: AbstractBaseUser, *, send: bool, now: datetime | None = None
) -> tuple[list[Briefing], Counter[str]]:
    """`manage.py briefings --user`: build the briefings of one reader's current email now
    and, with `send`, mail it if it is still owed this period (never twice)."""
    now = now or timezone.now()
    return _now_for(readers_current(now=now, user_ids={int(user.pk)}), send=send, now=now)


def radar_briefings_now(
    radar: Radar, *, send: bool, now: datetime | None = None
) -> tuple[list[Briefing], Counter[str]]:
    """`manage.py briefings --radar`: build the current period's briefings of a radar (the
    periods and languages its readers want; the owner's daily one if nobody wants email)
    and, with `send`, mail every reader of it the email they are still owed this period
    (their other radars' briefings are built too: one email covers them all)."""
    now = now or timezone.now()
    current = readers_current(now=now, radar_id=radar.pk)
    if current:
        return _now_for(current, send=send, now=now)
    profile = Profile.objects.filter(user_id=radar.owner_id).first()
    language = summary_language(*_languages(profile))
    today = now.astimezone(zone_named(profile.timezone if profile else "UTC")).date()
    keys = {(radar.pk, Briefing.Cadence.DAY, today, lang) for lang in LANGUAGES[language]}
    return list(_briefings_for(keys, now).values()), Counter()


# --- Sending ---------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    return min(SEND_BACKOFF_BASE * (1 << max(attempts - 1, 0)), SEND_BACKOFF_CAP)


def _finish(delivery_id: int, state: str, **fields: Any) -> None:
    """Record how a claimed send ended (only a row still `sending` is changed).

    Committed without waiting for the disk (the claim before the send does wait): should the
    database crash before it reaches the disk, the row is found still `sending` and flagged
    as maybe sent, never sent twice. This saves one disk flush per email. `refusal` (the
    server's reply the reader may see) is cleared unless given."""
    fields.setdefault("refusal", "")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        Delivery.objects.filter(pk=delivery_id, state=Delivery.State.SENDING).update(
            state=state, updated_at=timezone.now(), **fields
        )


@dataclass(slots=True)
class Wanted:
    """What the readers of a batch still want, read just before sending."""

    # The radars each reader still wants in the email (emails on, radar active).
    radars: dict[int, set[int]]
    # Addresses that bounced for good or complained.
    suppressed: set[str]


def _message(
    delivery: Delivery, cache: MailCache, radar_ids: set[int] | None
) -> EmailMessage | None:
    """The delivery's email without the radars the reader left out (`briefing_ids` is
    narrowed in memory, and `radars` set to those the email shows), or None when nothing is
    left to send."""
    cache.load([delivery])
    if radar_ids is not None:
        # A radar deleted since the row was written has no id any more: left out too.
        delivery.briefing_ids = [
            b
            for b in delivery.briefing_ids
            if b in cache.briefings and cache.briefings[b].radar_id in radar_ids
        ]
    rendered = edition_render(delivery, cache)
    if not rendered.edition.sections:
        return None
    delivery.radars = rendered.radars
    return briefing_message(delivery, cache)


def _render_failed(delivery: Delivery, exc: Exception, now: datetime) -> str:
    """Count a failed rendering as an attempt and retry later (a bug, not the reader's
    fault: failed for good after MAX_SEND_ATTEMPTS); the row stays pending."""
    given_up = delivery.attempts + 1 >= MAX_SEND_ATTEMPTS
    Delivery.objects.filter(
        pk=delivery.pk, state=Delivery.State.PENDING, attempts=delivery.attempts
    ).update(
        state=Delivery.State.FAILED if given_up else Delivery.State.PENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + _backoff(delivery.attempts + 1),
        last_error=f"the email could not be rendered: {exc!r}"[:2000],
        updated_at=now,
    )
    return "failed" if given_up else "deferred"


def delivery_send(
    delivery: Delivery,
    *,
    mailer: Mailer,
    now: datetime | None = None,
    cache: MailCache | None = None,
    radar_ids: set[int] | None = None,
    suppressed: bool = False,
) -> str:
    """Send one pending delivery (loaded with its user and profile) if this worker claims
    it; returns what happened (sent, deferred, failed, unknown, skipped). `radar_ids`: the
    radars the reader still wants (None: all, as for a test); `suppressed`: the address
    bounced or complained."""
    now = now or timezone.now()
    active = delivery.user.is_active and bool(delivery.user.email)
    message: EmailMessage | None = None
    if active and not suppressed:
        # Rendered before the claim: a failure here leaves the row pending, never `sending`
        # (which would be flagged as maybe sent and not sent again).
        try:
            message = _message(delivery, cache if cache is not None else MailCache(), radar_ids)
        except Exception as exc:
            logger.exception("delivery %s could not be rendered", delivery.pk)
            return _render_failed(delivery, exc, now)
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
        # Radars the reader left out since the row was written are left out of the email
        # (and of its archived copy), which keeps the radars as mailed.
        briefing_ids=delivery.briefing_ids,
        radars=delivery.radars,
    )
    if claimed != 1:
        return "skipped"
    delivery.attempts += 1
    if suppressed:
        _finish(delivery.pk, Delivery.State.SKIPPED,
                last_error="the address bounced or complained: mail to it is stopped")  # fmt: skip
        return "skipped"
    if not active:
        _finish(delivery.pk, Delivery.State.FAILED, last_error="the user has no active address")
        return "failed"
    if message is None:
        _finish(delivery.pk, Delivery.State.SKIPPED, last_error="unsubscribed before sending")
        return "skipped"
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
        _finish(delivery.pk, Delivery.State.FAILED, last_error=str(exc)[:2000],
                refusal=str(exc)[:2000])  # fmt: skip
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


def _loaded(ids: Sequence[int]) -> tuple[list[Delivery], Wanted]:
    """These deliveries, still pending, with their users and profiles (one query), and what
    their readers still want: radars with emails on (one query), addresses not suppressed
    (one query)."""
    rows = list(
        Delivery.objects.filter(id__in=list(ids), state=Delivery.State.PENDING)
        .select_related("user__profile")
        .order_by("id")
    )
    radars: defaultdict[int, set[int]] = defaultdict(set)
    subs = (
        Subscription.objects.filter(user_id__in={d.user_id for d in rows}, radar__active=True)
        .exclude(frequency=Subscription.Frequency.OFF)
        # The settings page's "off" stops every briefing email, also one already queued.
        .exclude(user__profile__digest_frequency=Profile.Frequency.OFF)
        .values_list("user_id", "radar_id")
    )
    for user_id, radar_id in subs:
        radars[user_id].add(radar_id)
    suppressed = suppressed_addresses(d.user.email for d in rows)
    return rows, Wanted(radars=dict(radars), suppressed=suppressed)


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
    cache: MailCache | None = None,
) -> Counter[str]:
    """Send these deliveries over one connection (`mailer`'s, if given: it is left open);
    returns counts by outcome. When the server cannot be reached, the rest of the batch is
    left pending for the next run. `cache` may hold what the run loaded and rendered."""
    ids = list(delivery_ids)
    counts: Counter[str] = Counter()
    own = mailer is None
    mailer = mailer or Mailer()
    cache = cache if cache is not None else MailCache()
    # Sending stops `budget` seconds after `started` (time.monotonic()), inside the task's
    # soft time limit; what is left stays pending for the next run.
    started = time.monotonic() if started is None else started
    budget = _batch_seconds() if budget is None else budget
    try:
        for chunk in batched(ids, LOAD_CHUNK):
            rows, wanted = _loaded(chunk)
            if len(rows) < len(chunk):
                counts["skipped"] += len(chunk) - len(rows)
            cache.load(rows)
            for delivery in rows:
                if time.monotonic() - started > budget or mailer.down:
                    counts["left"] += 1
                    continue
                outcome = delivery_send(
                    delivery,
                    mailer=mailer,
                    now=now,
                    cache=cache,
                    # A test is sent whatever the reader's choices since.
                    radar_ids=None
                    if delivery.is_test
                    else wanted.radars.get(delivery.user_id, set()),
                    suppressed=delivery.user.email.casefold() in wanted.suppressed,
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


def deliveries_mark_sent(delivery_ids: Iterable[int]) -> int:
    """Staff: these flagged deliveries did arrive (the mail log says so): sent, never resent."""
    now = timezone.now()
    return Delivery.objects.filter(
        id__in=list(delivery_ids), state=Delivery.State.SENDING, flagged=True
    ).update(state=Delivery.State.SENT, flagged=False, sent_at=now, updated_at=now)


@dataclass(frozen=True, slots=True)
class Dispatch:
    """What one dispatcher run found due, for the beat task to enqueue."""

    now: datetime
    due: int
    flagged: int
    # (radar id, cadence, period start) of each radar and period with due readers.
    groups: list[tuple[int, str, date]]


def dispatch_find(*, now: datetime | None = None) -> Dispatch:
    """Beat, every 15 minutes: flag stale sends and find every radar and period that due
    readers' emails cover (the beat task enqueues their building and sending)."""
    now = now or timezone.now()
    flagged = deliveries_flag_stale(now=now)
    due = readers_due(now=now)
    groups = sorted({(rid, d.cadence, d.period_start) for d in due for rid in d.radar_ids})
    return Dispatch(now=now, due=len(due), flagged=flagged, groups=groups)


def dispatch_due(*, now: datetime | None = None) -> dict[str, int]:
    """What the beat's dispatch does, here and now: find what is due, build and send it, then
    the deliveries whose retry is due; returns counts."""
    found = dispatch_find(now=now)
    # One connection for the run; once the server is found down, the rest waits.
    mailer = Mailer()
    cache = MailCache()
    try:
        for radar_id, cadence, start in found.groups:
            deliver_group(radar_id, cadence, start, now=found.now, mailer=mailer, cache=cache)
        deliveries_send(deliveries_due(now=found.now), now=found.now, mailer=mailer, cache=cache)
    finally:
        mailer.close()
    return {"due": found.due, "groups": len(found.groups), "flagged": found.flagged}


# --- A test briefing on demand ---------------------------------------------------------------


def briefing_test_send(user: AbstractBaseUser, *, now: datetime | None = None) -> str:
    """ "Send me a test briefing now": the reader's email built at once from every radar
    they own or follow, in their summary language, mailed and marked as a test; outside the
    once-per-period rule. Each radar's part is today's shared briefing when it has papers and
    either exists already or the reader's day is due (as the dispatcher would make it now),
    else a test briefing of the radar's matches of the last day up to now
    (`briefing_test_ensure`): a test asked before the delivery hour never cuts the shared
    briefing of that day early, and a shared briefing cut before the matches arrived never
    leaves the test empty. Returns sent, deferred, failed, unknown,
    recent or nothing (no radar has a match in the last day: no email, no Delivery row)."""
    now = now or timezone.now()
    if Delivery.objects.filter(
        user_id=user.pk, is_test=True, created_at__gt=now - TEST_INTERVAL
    ).exists():
        return "recent"
    radar_ids = radars_for_test(int(user.pk))
    profile = Profile.objects.filter(user_id=user.pk).first()
    language = summary_language(*_languages(profile))
    today = now.astimezone(zone_named(profile.timezone if profile else "UTC")).date()
    keys: set[Key] = {
        (rid, Briefing.Cadence.DAY, today, lang)
        for rid in radar_ids
        for lang in LANGUAGES[language]
    }
    # Today's shared briefings are used when they exist or the reader's day is due (the
    # dispatcher would cut them now); made for a test before that, they would be cut early
    # for every reader of the radar, and the regular email would leave out the papers
    # caught until the delivery hour.
    shared = keys if _day_due(profile, now, today) else keys & _shared_existing(keys)
    built = _briefings_for(shared, now)
    chosen = []
    for key in sorted(keys):
        briefing: Briefing | None = built.get(key)
        if briefing is None or not briefing.readable:
            briefing = briefing_test_ensure(
                radar_id=key[0], period_start=today, language=key[3], now=now
            )
        if briefing is not None and briefing.status != Briefing.Status.PENDING:
            chosen.append(briefing)
    if not any(b.readable for b in chosen):
        return "nothing"
    delivery = Delivery.objects.create(
        user_id=user.pk,
        cadence=Briefing.Cadence.DAY,
        period_start=today,
        language=language,
        briefing_ids=[b.pk for b in chosen],
        is_test=True,
        message_id=message_id_new(),
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    counts = deliveries_send([delivery.pk], now=now)
    return next((outcome for outcome, n in counts.items() if n), "skipped")


def _languages(profile: Profile | None) -> tuple[str | None, str | None]:
    """(summary language, interface language) of a reader's profile, if any."""
    return (profile.card_language, profile.language) if profile else (None, None)


def _day_due(profile: Profile | None, now: datetime, today: date) -> bool:
    """Whether the reader gets a daily email whose period `today` is due by `now` (their
    local delivery hour has passed). No profile yet: the defaults (daily at 07:00 UTC)."""
    if profile is not None and profile.digest_frequency != Profile.Frequency.DAILY:
        return False
    start, _at = period_due(
        cadence=Briefing.Cadence.DAY,
        zone=zone_named(profile.timezone if profile else "UTC"),
        hour=profile.delivery_hour if profile else 7,
        weekday=0,
        now=now,
    )
    return start == today


def _shared_existing(keys: set[Key]) -> set[Key]:
    """Those of these shared briefings that exist already (one query)."""
    if not keys:
        return set()
    rows = Briefing.objects.filter(
        radar_id__in={k[0] for k in keys},
        cadence__in={k[1] for k in keys},
        period_start__in={k[2] for k in keys},
        language__in={k[3] for k in keys},
        is_test=False,
    ).values_list("radar_id", "cadence", "period_start", "language")
    return set(rows) & keys


def radars_for_test(user_id: int) -> list[int]:
    """The radars a test briefing of this reader covers: every active one they own or
    follow, by name."""
    return list(
        Subscription.objects.filter(user_id=user_id, radar__active=True)
        .order_by("radar__name", "radar_id")
        .values_list("radar_id", flat=True)
    )
