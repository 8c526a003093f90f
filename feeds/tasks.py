"""Celery tasks of the feeds app: thin wrappers that own the retry and time-limit policy."""

from __future__ import annotations

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from feeds.models import Source
from feeds.pipeline import poll
from feeds.sources.base import ErrorKind, FeedError
from radar.tasks import papers_match_on_commit


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sources_poll_due() -> int:
    """Beat: enqueue a poll for every due source; returns how many."""
    due = poll.sources_due()
    for source_id in due:
        source_poll.delay(source_id)
    return len(due)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def source_poll(self: Task, source_id: int) -> None:
    """Poll one source. Idempotent: a redelivered poll writes nothing new twice."""
    try:
        summary = poll.source_poll(source_id, token=self.request.id or "")
        if summary is not None:
            papers_match_on_commit(summary.changed_ids)
    except SoftTimeLimitExceeded:
        source = Source.objects.get(id=source_id)
        poll.source_record_failure(
            source, FeedError(ErrorKind.TIMEOUT, "the poll ran past its time limit")
        )
