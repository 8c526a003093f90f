"""Who is due for a briefing email when: each subscription's period in its user's time zone.

A subscription is due for the latest day (or ISO week, on the user's weekday) whose local
delivery hour has passed in the user's time zone, that began after they subscribed, that is
at most a few hours late, and that has no Delivery row yet. Nothing here sends or writes.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from functools import cache
from itertools import batched
from typing import Any

from accounts.models import Profile
from digests.models import Briefing, Delivery
from radar.models import Subscription

CADENCE: dict[str, str] = {
    Subscription.Frequency.DAILY: Briefing.Cadence.DAY,
    Subscription.Frequency.WEEKLY: Briefing.Cadence.WEEK,
}
# The briefing languages a subscription's language choice wants.
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
# Due subscriptions checked at once for an existing Delivery row.
CHUNK = 1000


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
def zone_named(name: str) -> zoneinfo.ZoneInfo:
    """The time zone called `name`, or UTC when there is no such zone."""
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


def _subscriptions(*, radar_id: int | None = None) -> Any:
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
    return subs.values(*_FIELDS).order_by("id")


def _due(row: dict[str, Any], now: datetime, *, any_hour: bool) -> Due:
    zone = zone_named(row["user__profile__timezone"] or "UTC")
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
