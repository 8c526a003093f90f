"""Briefing emails at each subscriber's local hour, each sent at most once.

Every 15 minutes `dispatch_due` finds the subscriptions whose period is due: the latest day
(or ISO week, on the user's weekday) whose local delivery hour has passed in the user's
time zone, that began after they subscribed, that is at most a few hours late, and that has
no Delivery row yet. For each radar and period it builds (or reuses) the briefing of each
language wanted, writes one Delivery row per user — unique per user, radar and period, with
its Message-ID made before any attempt — and sends them.

Sending claims a row by a conditional UPDATE (pending → sending) before the SMTP
conversation and marks it sent afterwards. A server that cannot be reached or answers 4xx
leaves the row pending with a growing backoff (the rest of the batch waits for the next run,
other recipients' 4xx do not stop anyone). A 5xx refusal makes it failed. When the outcome is
unknown — the connection dropped after the message was handed over, or the worker died —
the row stays `sending` and is flagged for staff (after SENDING_TIMEOUT for a dead worker):
it is never sent again automatically, so nobody receives a briefing twice.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from functools import cache, partial
from itertools import batched
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Profile
from digests.briefings import READY, briefing_ensure
from digests.display import BriefingView, briefing_views
from digests.email import SectionCache, briefing_message, message_id_new
from digests.models import Briefing, Delivery
from radar.models import Radar, Subscription

logger = logging.getLogger(__name__)

CADENCE: dict[str, str] = {
    Subscription.Frequency.DAILY: Briefing.Cadence.DAY,
    Subscription.Frequency.WEEKLY: Briefing.Cadence.WEEK,
}
LANGUAGES: dict[str, tuple[str, ...]] = {
    Subscription.Language.EN: ("en",),
    Subscription.Language.ZH: ("zh",),
    Subscription.Language.BOTH: ("en", "zh"),
}
# A period is still delivered this long after its hour (the dispatcher was down, a briefing
# waited for the LLM); later than that it is skipped rather than arrive next to the next one.
MAX_LATE: dict[str, timedelta] = {
    Briefing.Cadence.DAY: timedelta(hours=12),
    Briefing.Cadence.WEEK: timedelta(days=2),
}
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
CHUNK = 1000
# How long a dispatcher waits for a briefing another one is building (seconds): about two
# LLM calls; and how often it looks.
BUILD_WAIT = 150.0
BUILD_POLL = 0.25
# "Send me a test briefing now": at most one per user in this time.
TEST_INTERVAL = timedelta(minutes=2)


# --- Who is due ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """A subscription due for one period: which briefings it wants, from when."""

    subscription_id: int
    user_id: int
    radar_id: int
    cadence: str
    period_start: date
    due_at: datetime
    languages: tuple[str, ...]


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _at(day: date, hour: int, zone: zoneinfo.ZoneInfo) -> datetime:
    """`hour` o'clock on `day` in `zone`. An hour a DST change skips comes an hour later in
    wall time (02:00 → 03:00), an hour it repeats counts once (its first occurrence)."""
    return datetime.combine(day, clock(hour)).replace(tzinfo=zone)


def period_due(
    *, cadence: str, zone: zoneinfo.ZoneInfo, hour: int, weekday: int, now: datetime
) -> tuple[date, datetime]:
    """The latest period whose local delivery time is not after `now`, and that time: the
    local date (daily), or the Monday of the local ISO week (weekly, on `weekday`)."""
    local = now.astimezone(zone)
    if cadence == Briefing.Cadence.DAY:
        day = local.date()
        at = _at(day, hour, zone)
        if at > now:
            day -= timedelta(days=1)
            at = _at(day, hour, zone)
        return day, at
    monday = local.date() - timedelta(days=local.weekday())
    at = _at(monday + timedelta(days=weekday), hour, zone)
    if at > now:
        monday -= timedelta(days=7)
        at = _at(monday + timedelta(days=weekday), hour, zone)
    return monday, at


_FIELDS = (
    "id", "user_id", "radar_id", "frequency", "language", "created_at",
    "user__profile__timezone", "user__profile__delivery_hour",
    "user__profile__delivery_weekday", "user__profile__digest_frequency",
)  # fmt: skip


def _subscriptions(*, radar_id: int | None = None, user_id: int | None = None) -> Any:
    """Subscriptions that want emails: frequency on (in the subscription and the profile's
    master switch), an active radar, an active user with an address; as dicts."""
    subs = (
        Subscription.objects.exclude(frequency=Subscription.Frequency.OFF)
        .filter(radar__active=True, user__is_active=True)
        .exclude(user__email="")
        .exclude(user__profile__digest_frequency=Profile.Frequency.OFF)
    )
    if radar_id is not None:
        subs = subs.filter(radar_id=radar_id)
    if user_id is not None:
        subs = subs.filter(user_id=user_id)
    return subs.values(*_FIELDS).order_by("id")


def _due(row: dict[str, Any], now: datetime, *, any_hour: bool) -> Due:
    zone = _zone(row["user__profile__timezone"] or "UTC")
    cadence = CADENCE[row["frequency"]]
    hour = row["user__profile__delivery_hour"]
    weekday = row["user__profile__delivery_weekday"]
    start, at = period_due(
        cadence=cadence,
        zone=zone,
        # "Whatever the hour": the period that is current now.
        hour=0 if any_hour else (7 if hour is None else hour),
        weekday=0 if any_hour else (0 if weekday is None else weekday),
        now=now,
    )
    return Due(
        subscription_id=row["id"],
        user_id=row["user_id"],
        radar_id=row["radar_id"],
        cadence=cadence,
        period_start=start,
        due_at=at,
        languages=LANGUAGES[row["language"]],
    )


def _without_deliveries(candidates: list[Due]) -> list[Due]:
    """The candidates whose user has no Delivery row for that radar and period yet."""
    existing: set[tuple[int, int, str, date]] = set()
    for chunk in batched(candidates, CHUNK):
        existing.update(
            Delivery.objects.filter(
                is_test=False,
                user_id__in={d.user_id for d in chunk},
                period_start__in={d.period_start for d in chunk},
            ).values_list("user_id", "radar_id", "cadence", "period_start")
        )
    return [
        d for d in candidates if (d.user_id, d.radar_id, d.cadence, d.period_start) not in existing
    ]


def subscriptions_due(*, now: datetime, radar_id: int | None = None) -> list[Due]:
    """Subscriptions whose period is due now: its local hour has passed, it began after they
    subscribed, it is not more than MAX_LATE late, and it has no delivery yet."""
    candidates = []
    for row in _subscriptions(radar_id=radar_id):
        due = _due(row, now, any_hour=False)
        if due.due_at < row["created_at"] or now - due.due_at > MAX_LATE[due.cadence]:
            continue
        candidates.append(due)
    return _without_deliveries(candidates)


def subscriptions_current(*, now: datetime, radar_id: int) -> list[Due]:
    """A radar's subscriptions (emails on) for the period that is current in each one's time
    zone, whatever the hour, without a delivery yet (`manage.py briefings --send`)."""
    candidates = [_due(row, now, any_hour=True) for row in _subscriptions(radar_id=radar_id)]
    return _without_deliveries(candidates)


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
        today = now.astimezone(_zone(profile.timezone if profile else "UTC")).date()
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


class SendDeferred(Exception):
    """Nothing was accepted (unreachable server, 4xx): safe to try again later."""


class SendRefused(Exception):
    """The server refused the message for good (5xx)."""


class SendUnknown(Exception):
    """The connection failed after the message was handed over: it may have been accepted."""


class Mailer:
    """One connection to the mail server, reused for a batch, that tells the failures that
    are safe to retry from those after which the message may already be on its way."""

    def __init__(self) -> None:
        self.backend: Any = None
        self.down = False
        self.stage = ""

    def _open(self) -> None:
        backend = mail.mailers.default
        try:
            backend.open()
        except (OSError, smtplib.SMTPException) as exc:
            self.down = True
            raise SendDeferred(f"the mail server cannot be reached: {exc}") from exc
        smtp = getattr(backend, "connection", None)
        if isinstance(smtp, smtplib.SMTP):
            data = smtp.data

            def data_noted(msg: Any) -> tuple[int, bytes]:
                # From here on the server may hold the message whatever happens next.
                self.stage = "data"
                return data(msg)

            smtp.data = data_noted  # type: ignore[method-assign]
        self.backend = backend

    def send(self, message: EmailMessage) -> None:
        """Send one message, or raise SendDeferred, SendRefused or SendUnknown."""
        if self.backend is None:
            self._open()
        self.stage = "envelope"
        try:
            sent = self.backend.send_messages([message])
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(400 <= code < 500 for code in codes):
                raise SendDeferred(f"recipient deferred: {exc.recipients}") from exc
            raise SendRefused(f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            error = exc.smtp_error
            if isinstance(error, bytes):
                error = error.decode(errors="replace")
            if 400 <= exc.smtp_code < 500:
                raise SendDeferred(f"{exc.smtp_code} {error}") from exc
            raise SendRefused(f"{exc.smtp_code} {error}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            if self.stage == "data":
                raise SendUnknown(f"connection lost after the message was sent: {exc!r}") from exc
            raise SendDeferred(f"connection lost before the message was sent: {exc!r}") from exc
        if sent != 1:
            raise SendRefused("the mail backend sent nothing")

    def close(self) -> None:
        """Close the connection, if any (quietly: it may be dead already)."""
        backend, self.backend = self.backend, None
        if backend is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                backend.close()


def _backoff(attempts: int) -> timedelta:
    return min(SEND_BACKOFF_BASE * 2 ** max(attempts - 1, 0), SEND_BACKOFF_CAP)


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


def dispatch_due(*, now: datetime | None = None, inline: bool = False) -> dict[str, int]:
    """Beat, every 15 minutes: flag stale sends, then for every radar and period with due
    subscribers build and send (in tasks enqueued on commit, or here with `inline`), and
    send the deliveries whose retry is due."""
    now = now or timezone.now()
    flagged = deliveries_flag_stale(now=now)
    due = subscriptions_due(now=now)
    groups = sorted({(d.radar_id, d.cadence, d.period_start) for d in due})
    if inline:
        # One connection for the run; once the server is found down, the rest waits.
        mailer = Mailer()
        try:
            for radar_id, cadence, start in groups:
                deliver_group(radar_id, cadence, start, now=now, mailer=mailer)
            deliveries_send(deliveries_due(now=now), now=now, mailer=mailer)
        finally:
            mailer.close()
        return {"due": len(due), "groups": len(groups), "flagged": flagged}
    from digests import tasks

    for radar_id, cadence, start in groups:
        transaction.on_commit(
            partial(tasks.briefing_deliver.delay, radar_id, cadence, start.isoformat())
        )
    retries = deliveries_due(now=now)
    for chunk in batched(retries, 200):
        transaction.on_commit(partial(tasks.deliveries_send.delay, list(chunk)))
    return {"due": len(due), "groups": len(groups), "flagged": flagged, "retries": len(retries)}


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
        today = now.astimezone(_zone(profile.timezone if profile else "UTC")).date()
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
