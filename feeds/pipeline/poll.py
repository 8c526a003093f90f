"""One poll of one source: fetch → parse → normalise → sanitise → upsert, and its state."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from feeds import http
from feeds.models import PaperSighting, Source
from feeds.pipeline.sanitise import paper_sanitise
from feeds.pipeline.upsert import UpsertResult, papers_upsert
from feeds.sources import get_adapter
from feeds.sources.base import Adapter, ErrorKind, FeedError, Page, PaperIn

logger = logging.getLogger(__name__)

# Bounds on one poll: entries kept per response, pages followed per poll.
MAX_ENTRIES = 5_000
MAX_PAGES = 50
# A poll holds its source this long at most; past it another worker may take over.
LEASE = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


@dataclass(slots=True)
class IngestSummary:
    """Counts printed by `manage.py ingest` and kept for the health page."""

    entries: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    # Characters lost to bad bytes (stored as U+FFFD) or dropped as unstorable, per poll.
    warnings: int = 0
    changed_ids: list[int] = field(default_factory=list)

    def add(self, entries: int, dropped: int, warnings: int, upsert: UpsertResult) -> None:
        """Fold one page's figures in."""
        self.entries += entries
        self.errors += dropped
        self.warnings += warnings
        self.created += upsert.created
        self.updated += upsert.updated
        self.skipped += upsert.skipped
        self.changed_ids += upsert.changed_ids

    def as_dict(self) -> dict[str, int]:
        """The JSON summary line's fields."""
        return {
            "entries": self.entries,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def body_ingest(source: Source, body: bytes, *, adapter: Adapter | None = None) -> IngestSummary:
    """Parse one saved or fetched response for `source` and upsert what it holds."""
    adapter = adapter or get_adapter(source.kind)
    if not body.strip():
        raise FeedError(ErrorKind.EMPTY, "the response was empty")
    page = adapter.parse(body)
    summary = IngestSummary()
    _store(source, adapter, page, summary)
    return summary


def _store(
    source: Source, adapter: Adapter, page: Page, summary: IngestSummary, *, again: bool = False
) -> None:
    fetched = timezone.localdate()
    entries = page.entries[:MAX_ENTRIES]
    fingerprints = [
        hashlib.sha1(repr(raw).encode(), usedforsecurity=False).hexdigest() for raw in entries
    ]
    # Entries identical to what this source sent last time cannot change anything: skip
    # them before the (comparatively) costly normalise, sanitise and upsert.
    known = dict(
        PaperSighting.objects.filter(source=source, raw_hash__in=fingerprints).values_list(
            "raw_hash", "paper_id"
        )
    )
    if again:
        # A poll run again after the database went away: the attempt before may have stored
        # these papers and died before handing them on, so they count as changed once more
        # (every later stage is safe to run twice).
        summary.changed_ids += sorted(set(known.values()))
    clean: list[PaperIn] = []
    clean_hashes: list[str] = []
    dropped = unchanged = 0
    for raw, fingerprint in zip(entries, fingerprints, strict=True):
        if fingerprint in known:
            unchanged += 1
            continue
        try:
            paper = paper_sanitise(adapter.normalise(raw), fetched=fetched)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # One broken entry must not cost the others.
            logger.warning("source %s: skipped an entry: %s", source.slug, exc)
            paper = None
        if paper is None:
            dropped += 1
        else:
            clean.append(paper)
            clean_hashes.append(fingerprint)
    result = papers_upsert(source, clean, clean_hashes)
    result.skipped += unchanged
    summary.add(len(entries), dropped, page.warnings, result)


def source_claim(source_id: int, token: str, *, force: bool = False) -> Source | None:
    """Take the lease on a source; None when another poll holds it or (unless `force`)
    when it is not due, e.g. a second queued poll after the first one already ran."""
    now = timezone.now()
    sources = Source.objects.filter(id=source_id)
    if not force:
        sources = sources.filter(next_check_at__lte=now)
    claimed = sources.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_token=token)
    ).update(lease_until=now + LEASE, lease_token=token)
    return Source.objects.get(id=source_id) if claimed else None


def source_poll(
    source_id: int, *, token: str = "", force: bool = False, again: bool = False
) -> IngestSummary | None:
    """Poll one source now. Returns None if another poll holds it.

    `token` identifies the poll (the Celery task id): the same task delivered again after
    its worker died, or retried after the database went away, takes its own lease back
    instead of waiting for it to expire. `again` (a retry): every paper the feed holds is
    handed on, not only new or changed ones.
    """
    source = source_claim(source_id, token or uuid.uuid4().hex, force=force)
    if source is None:
        logger.info("source %s is being polled elsewhere; skipped", source_id)
        return None
    adapter = get_adapter(source.kind)
    summary = IngestSummary()
    today = timezone.localdate()
    try:
        max_age = _poll_pages(source, adapter, summary, today, again=again)
    except http.FetchError as exc:
        source_record_failure(source, _error_feed_reason(adapter, exc) or exc)
        return summary
    except FeedError as exc:
        source_record_failure(source, exc)
        return summary
    except (OperationalError, InterfaceError):
        # The database is away, not the feed: nothing to record (it could not be written),
        # no error counted towards pausing the source, and the lease stays with this poll's
        # token, so the task's retry takes it back.
        raise
    except Exception as exc:
        # A bug or a database error: recorded and counted like any failure (so the source
        # backs off and pauses), then raised for the logs and the task's retry policy.
        source_record_failure(source, FeedError(ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}"))
        raise
    source_record_success(source, summary, max_age=max_age)
    return summary


def _poll_pages(
    source: Source, adapter: Adapter, summary: IngestSummary, today: date, *, again: bool
) -> int | None:
    """Fetch every page the source has for this poll; returns the feed's max-age, if any."""
    offset = 0
    for page_number in range(MAX_PAGES):
        url = adapter.page_url(source.url, offset=offset, state=source.state, today=today)
        # Conditional GET only makes sense for single-document feeds.
        conditional = adapter.PAGE_SIZE is None
        response = http.fetch(
            url,
            etag=source.etag if conditional else "",
            last_modified=source.last_modified if conditional else "",
        )
        if response.not_modified:
            return response.max_age
        if conditional:
            source.etag, source.last_modified = response.etag, response.last_modified
        if not response.body.strip():
            raise FeedError(ErrorKind.EMPTY, f"empty response from {url}")
        page = adapter.parse(response.body)
        if page.total is None:
            _store(source, adapter, page, summary, again=again)
            return response.max_age
        if not page.entries:
            if page_number == 0 and page.total == 0 and source.kind != Source.Kind.ARXIV_API:
                break  # a quiet day: nothing posted in the interval
            # arXiv's API returns "anomalously empty" pages; an empty page is never the end.
            raise FeedError(
                ErrorKind.EMPTY, f"empty page at offset {offset} of {page.total}; will retry"
            )
        _store(source, adapter, page, summary, again=again)
        offset = page.offset + (page.count if page.count is not None else len(page.entries))
        if offset >= page.total:
            break
    else:
        # Out of pages before the end: what was stored stays; the window is not advanced,
        # so the next poll fetches the rest.
        raise FeedError(
            ErrorKind.EMPTY, f"stopped after {MAX_PAGES} pages at offset {offset}; will continue"
        )
    if source.kind in (Source.Kind.BIORXIV_API, Source.Kind.MEDRXIV_API):
        # Today is harvested again next time: more may be posted later in the day.
        source.state = {**source.state, "since": today.isoformat()}
    return None


def _error_feed_reason(adapter: Adapter, exc: http.FetchError) -> FeedError | None:
    """arXiv sends its error feeds with HTTP 400: the feed's own words beat "HTTP 400"."""
    if exc.kind != ErrorKind.HTTP_4XX or not exc.body:
        return None
    try:
        adapter.parse(exc.body)
    except FeedError as feed_error:
        return feed_error if feed_error.kind == ErrorKind.ERROR_FEED else None
    return None


def source_record_success(
    source: Source, summary: IngestSummary, *, max_age: int | None = None
) -> None:
    """Reset the error count and schedule the next check."""
    now = timezone.now()
    interval = source.poll_interval
    if max_age:
        # Like miniflux: the larger of our interval and the feed's own cache lifetime.
        interval = max(interval, timedelta(seconds=max_age))
    interval = min(interval, timedelta(hours=settings.SOURCE_MAX_BACKOFF_HOURS))
    Source.objects.filter(id=source.id).update(
        etag=source.etag,
        last_modified=source.last_modified,
        state=source.state,
        checked_at=now,
        last_success_at=now,
        next_check_at=now + interval,
        items_last_time=summary.entries,
        warnings_last_time=summary.warnings,
        error_count=0,
        last_error="",
        last_error_kind="",
        lease_until=None,
        lease_token="",
    )


def source_record_failure(source: Source, exc: http.FetchError | FeedError) -> None:
    """Count the error, keep its message and kind, back off; stored papers stay as they are."""
    now = timezone.now()
    count = source.error_count + 1
    if exc.kind == ErrorKind.GONE:
        count = max(count, settings.SOURCE_ERROR_LIMIT)  # 410: muted until staff reset it
    backoff = min(
        source.poll_interval * (2 ** (count - 1)),
        timedelta(hours=settings.SOURCE_MAX_BACKOFF_HOURS),
    )
    retry_after: datetime | None = getattr(exc, "retry_after", None)
    next_check = retry_after if retry_after is not None else now + backoff
    logger.warning("source %s failed (%s): %s", source.slug, exc.kind, exc.message)
    Source.objects.filter(id=source.id).update(
        checked_at=now,
        next_check_at=next_check,
        error_count=count,
        last_error=exc.message[:2000],
        last_error_kind=exc.kind,
        lease_until=None,
        lease_token="",
    )


def sources_due(now: datetime | None = None) -> list[int]:
    """Ids of enabled, unpaused, unleased sources whose next check has come."""
    now = now or timezone.now()
    return list(
        Source.objects.filter(
            enabled=True,
            next_check_at__lte=now,
            error_count__lt=settings.SOURCE_ERROR_LIMIT,
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_check_at")
        .values_list("id", flat=True)
    )


def source_reset(source_id: int) -> None:
    """Unpause a source and check it at once (staff action)."""
    Source.objects.filter(id=source_id).update(
        error_count=0, last_error="", last_error_kind="", next_check_at=timezone.now()
    )


def sources_enable(source_ids: Iterable[int], *, enabled: bool) -> int:
    """Stop polling these sources, or start again with their errors reset and a check at
    once (staff actions); returns how many were changed."""
    sources = Source.objects.filter(id__in=list(source_ids))
    if not enabled:
        return sources.update(enabled=False)
    return sources.update(
        enabled=True, error_count=0, last_error="", last_error_kind="", next_check_at=timezone.now()
    )
