"""Who is due for a briefing email when: each reader's period in their time zone.

A reader (an active user with an address, the briefing email on in their settings, following
at least one active radar with its emails on, an address that has not bounced) is due for the
latest day (or ISO week, on their weekday) whose local delivery hour has passed in their time
zone, that began after their first subscription, that is at most a few hours late, and that
has no Delivery row yet. Their email covers every radar they own or follow (emails on), in
their summary language. Nothing here sends or writes.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from functools import cache
from itertools import batched
from typing import Any

from accounts.models import Profile, card_language_for
from accounts.selectors import suppressed_addresses
from digests.models import Briefing, Delivery
from radar.models import Subscription

CADENCE: dict[str, str] = {
    Profile.Frequency.DAILY: Briefing.Cadence.DAY,
    Profile.Frequency.WEEKLY: Briefing.Cadence.WEEK,
}
# The briefing languages a summary language wants (Chinese first when both).
LANGUAGES: dict[str, tuple[str, ...]] = {
    Profile.CardLanguage.EN: ("en",),
    Profile.CardLanguage.ZH: ("zh",),
    Profile.CardLanguage.BOTH: ("zh", "en"),
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
    """A reader due for one period's email: which radars and briefing languages it covers."""

    user_id: int
    cadence: str
    period_start: date
    due_at: datetime
    # en, zh or both (Delivery.Language).
    language: str
    # The radars the email covers (owned or followed, emails on), by name.
    radar_ids: tuple[int, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        """The briefing languages the email wants."""
        return LANGUAGES[self.language]


def summary_language(chosen: str | None, interface: str | None) -> str:
    """The language of a reader's email: the summary language they have (en, zh or both),
    else that of their interface language (never "both" unless chosen)."""
    return chosen if chosen in LANGUAGES else card_language_for(interface)


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


def _readers(*, user_ids: set[int] | None = None, radar_id: int | None = None) -> list[Any]:
    """Readers who want the email, as (profile fields, radar ids, first subscription) rows:
    the profile's switch on, an active user with an address that has not bounced, and at
    least one active radar whose emails are on (only readers of `radar_id`, if given)."""
    subs = (
        Subscription.objects.exclude(frequency=Subscription.Frequency.OFF)
        .filter(radar__active=True, user__is_active=True)
        .exclude(user__email="")
        .exclude(user__profile__digest_frequency=Profile.Frequency.OFF)
    )
    if user_ids is not None:
        subs = subs.filter(user_id__in=user_ids)
    if radar_id is not None:
        subs = subs.filter(
            user_id__in=Subscription.objects.filter(radar_id=radar_id).values("user_id")
        )
    rows = subs.values_list(
        "user_id", "radar_id", "radar__name", "created_at", "user__email",
        "user__profile__timezone", "user__profile__delivery_hour",
        "user__profile__delivery_weekday", "user__profile__digest_frequency",
        "user__profile__card_language", "user__profile__language",
    ).order_by("user_id", "radar__name", "radar_id")  # fmt: skip
    readers: dict[int, dict[str, Any]] = {}
    radars: defaultdict[int, list[int]] = defaultdict(list)
    for (
        user_id, rid, _name, created, email, zone, hour, weekday, frequency, language, interface,
    ) in rows:  # fmt: skip
        radars[user_id].append(rid)
        reader = readers.setdefault(
            user_id,
            {"user_id": user_id, "email": email, "zone": zone, "hour": hour,
             "weekday": weekday, "frequency": frequency, "language": language,
             "interface": interface, "since": created},
        )  # fmt: skip
        reader["since"] = min(reader["since"], created)
    bounced = suppressed_addresses([r["email"] for r in readers.values()])
    return [
        {**reader, "radar_ids": tuple(radars[user_id])}
        for user_id, reader in readers.items()
        if reader["email"].casefold() not in bounced
    ]


def _due(row: dict[str, Any], now: datetime, *, any_hour: bool) -> Due:
    zone = zone_named(row["zone"] or "UTC")
    # No profile yet: the defaults (daily at 07:00 UTC, in the reader's language: English).
    cadence = CADENCE.get(row["frequency"], Briefing.Cadence.DAY)
    hour, weekday = row["hour"], row["weekday"]
    start, at = period_due(
        cadence=cadence,
        zone=zone,
        # "Whatever the hour": the period that is current now.
        hour=0 if any_hour else (7 if hour is None else hour),
        weekday=0 if any_hour else (0 if weekday is None else weekday),
        now=now,
    )
    language = summary_language(row["language"], row["interface"])
    return Due(
        user_id=row["user_id"],
        cadence=cadence,
        period_start=start,
        due_at=at,
        language=language,
        radar_ids=row["radar_ids"],
    )


def without_deliveries(candidates: list[Due]) -> list[Due]:
    """The candidates who have no Delivery row for that period yet."""
    existing: set[tuple[int, str, date]] = set()
    for chunk in batched(candidates, CHUNK):
        existing.update(
            Delivery.objects.filter(
                is_test=False,
                user_id__in={d.user_id for d in chunk},
                period_start__in={d.period_start for d in chunk},
            ).values_list("user_id", "cadence", "period_start")
        )
    return [d for d in candidates if (d.user_id, d.cadence, d.period_start) not in existing]


def readers_due(*, now: datetime, radar_id: int | None = None) -> list[Due]:
    """Readers whose period is due now: its local hour has passed, it began after their
    first subscription, it is not more than MAX_LATE late, and it has no delivery yet
    (only readers of `radar_id`, if given)."""
    candidates = []
    for row in _readers(radar_id=radar_id):
        due = _due(row, now, any_hour=False)
        if due.due_at < row["since"] or now - due.due_at > MAX_LATE[due.cadence]:
            continue
        candidates.append(due)
    return without_deliveries(candidates)


def readers_current(
    *, now: datetime, user_ids: set[int] | None = None, radar_id: int | None = None
) -> list[Due]:
    """Readers (these users, or a radar's readers) for the period that is current in each
    one's time zone, whatever the hour, delivered or not (`manage.py briefings`)."""
    rows = _readers(user_ids=user_ids, radar_id=radar_id)
    return [_due(row, now, any_hour=True) for row in rows]


def next_delivery(profile: Profile | None, *, now: datetime) -> datetime | None:
    """When this reader's next briefing email is due (the first delivery time after `now`
    in their time zone), or None when their briefing email is off. No profile yet: the
    defaults (daily at 07:00 UTC)."""
    frequency = profile.digest_frequency if profile else Profile.Frequency.DAILY
    if frequency not in CADENCE:
        return None
    cadence = CADENCE[frequency]
    zone = zone_named(profile.timezone if profile else "UTC")
    hour = profile.delivery_hour if profile else 7
    weekday = profile.delivery_weekday if profile else 0
    _start, at = period_due(cadence=cadence, zone=zone, hour=hour, weekday=weekday, now=now)
    step = timedelta(days=1 if cadence == Briefing.Cadence.DAY else 7)
    later = now + step
    # The period after the one due now: its time, computed in wall time (DST-safe).
    while at <= now:
        _start, at = period_due(cadence=cadence, zone=zone, hour=hour, weekday=weekday, now=later)
        later += step
    return at
