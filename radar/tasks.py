"""Celery tasks of the radar app: embed and match new papers, rescore an edited radar."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction

from radar import matching
from radar.models import Radar

# Papers per `papers_match` task: embedding ~200 papers on one core stays well inside the
# task's time limit, and a redelivered task redoes little.
MATCH_CHUNK = 200


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def papers_match(paper_ids: list[int]) -> dict[str, int]:
    """Embed and score these papers against every active radar (idempotent), then ask for
    the summary cards of those LLM_SUMMARIZE wants (matched ones by default)."""
    result = matching.papers_match(paper_ids)
    if settings.LLM_SUMMARIZE != "off":
        # Imported here: digests builds on radar, not the other way round; this is the one
        # hand-over from matching to summarising.
        from digests.tasks import cards_generate_on_commit

        cards_generate_on_commit(paper_ids)
    return result


# The first radar on an install embeds the recent window (thousands of papers at a few per
# second), far longer than the default limits allow.
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=1800,
    time_limit=1860,
)
def radar_rescore(radar_id: int) -> dict[str, int] | None:
    """Re-match one radar over the recent window after it was created or edited."""
    radar = Radar.objects.filter(id=radar_id).first()
    if radar is None:  # deleted meanwhile
        return None
    return matching.radar_rescore(radar)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def radar_profile_refresh(radar_id: int) -> None:
    """Recompute a radar's profile after its owner rated a paper."""
    radar = Radar.objects.filter(id=radar_id).first()
    if radar is not None:
        matching.radar_profile_update(radar)


def papers_match_on_commit(paper_ids: Sequence[int]) -> None:
    """Enqueue matching of new or changed papers, in chunks, once the transaction commits."""
    ids = sorted(set(paper_ids))
    for start in range(0, len(ids), MATCH_CHUNK):
        chunk = ids[start : start + MATCH_CHUNK]
        transaction.on_commit(partial(papers_match.delay, chunk))
