"""Celery tasks of the radar app: rescore an edited radar (and, on the beat, the radars
whose rescore was never sent), refresh a rated radar's profile.

Matching new papers is a pipeline stage: `academichub.pipeline.papers_match`."""

from __future__ import annotations

from celery import shared_task

from academichub.enqueue import enqueue
from radar import matching
from radar.models import Radar
from radar.profiles import radar_profile_update
from radar.signals import radar_rescored

# Radars rescored per sweep (every 10 minutes): each rescore may take minutes.
RESCORE_SWEEP_LIMIT = 50


# A rescore may embed a window of papers stored before papers were embedded on arrival
# (thousands at a few per second), far longer than the default limits allow.
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=1800,
    time_limit=1860,
)
def radar_rescore(radar_id: int) -> dict[str, int] | None:
    """Re-match one radar over the recent window after it was created or edited, then tell
    the floors above (its matches want their cards)."""
    radar = Radar.objects.filter(id=radar_id).first()
    if radar is None:  # deleted meanwhile
        return None
    counts = matching.radar_rescore(radar)
    radar_rescored.send(sender=Radar, radar_id=radar_id)
    return counts


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def radars_rescore_sweep() -> int:
    """Beat: rescore the active radars saved since their last scoring (a save clears
    `profile_updated_at`; the rescore sets it), e.g. saved while Redis was away so their
    rescore was never sent; returns how many."""
    ids = list(
        Radar.objects.filter(active=True, profile_updated_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[:RESCORE_SWEEP_LIMIT]
    )
    for radar_id in ids:
        enqueue(radar_rescore, radar_id)
    return len(ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def radar_profile_refresh(radar_id: int) -> None:
    """Recompute a radar's profile after its owner rated a paper."""
    radar = Radar.objects.filter(id=radar_id).first()
    if radar is not None:
        radar_profile_update(radar)
