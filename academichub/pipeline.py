"""How a paper travels through AcademicHub: the one module that knows the whole chain.

    poll ──▶ embed ──▶ match ──▶ cards ──▶ briefings ──▶ mail
   (feeds)   (radar)   (radar)  (digests)   (digests)    (digests)

1. **Poll.** Beat runs `sources_poll_due` every 5 minutes; it enqueues `source_poll` for
   every enabled, unpaused source whose `next_check_at` has come. `feeds.pipeline.poll`
   fetches, parses, sanitises and upserts the source and returns the ids of the papers that
   are new or changed; those go on to matching, in chunks, once the poll's transaction
   commits, and the latest days' ones to their cards at once (`papers_ingested_on_commit`).
2. **Embed, then match.** `papers_match` (`radar.matching.papers_match`) embeds every new
   paper once (title and the start of the abstract), whether or not radars exist yet, so a
   first radar's live preview finds papers at once; then scores the batch against every
   active radar, writing Match rows. `manage.py demo` hands the bundled samples on as a
   poll does.
3. **Cards.** The papers that get a card now get a pending summary card and a
   `digests.tasks.cards_generate` task (`digests.tasks.cards_generate_on_commit`): the ones
   `LLM_SUMMARIZE` wants (matched ones by default) and, without an LLM, every paper of its
   source's latest days (extractive cards). With an LLM, an ingest's latest-day papers get
   extractive stand-ins at once (`digests.tasks.cards_stand_in`) and their LLM cards as half
   the daily budget allows (`digests.tasks.cards_fill_on_commit`), the front page's first
   papers first; an LLM card, once made, is shown instead of the stand-in. A radar that was
   saved is rescored (`radar.tasks.radar_rescore`, which sends `radar_rescored`); its matches
   are handed to the cards at once (`radar_rescored_to_cards`). Beat's
   `digests.tasks.cards_sweep` retries the cards that are due, makes the stand-ins a lost
   hand-over missed and, as the budget allows, gives the latest days' other papers theirs
   (`digests.cards.cards_due`).
4. **Briefings and mail.** Beat's `digests.tasks.digests_dispatch_due` (every 15 minutes)
   builds each radar's briefing of the period from the matches created in it and mails the
   subscribers whose local delivery hour has come (`digests.schedule`, `digests.delivery`).

Apps never call the next stage themselves: each does its step and returns what changed, and
the functions here hand it on. Every hand-over waits for the transaction to commit, and every
stage is safe to run twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from academichub.enqueue import enqueue_on_commit
from digests.llm import llm_configured
from digests.tasks import (
    cards_fill_on_commit,
    cards_generate_on_commit,
    radar_cards_on_commit,
    stand_ins_enqueue,
)
from feeds.models import Paper, Source
from feeds.pipeline import poll
from feeds.pipeline.poll import IngestSummary
from feeds.sources.base import ErrorKind, FeedError
from radar import matching
from radar.models import PaperEmbedding

# Papers per `papers_match` task: embedding ~200 papers on one core stays well inside the
# task's time limit, and a redelivered task redoes little.
MATCH_CHUNK = 200
# The matching sweep looks at papers stored this recently, and hands on at most this many.
MATCH_SWEEP_WINDOW = timedelta(days=3)
MATCH_SWEEP_LIMIT = 5000
# ... but not at papers stored in the last MATCH_SWEEP_GRACE: their hand-over may still be
# waiting in the match queue behind a large day, and sending them again every sweep (every
# ten minutes) would grow the queue while the worker catches up.
MATCH_SWEEP_GRACE = timedelta(minutes=15)


# --- 1. Poll ---------------------------------------------------------------------------------


def source_poll_now(
    source_id: int, *, token: str = "", force: bool = False, again: bool = False
) -> IngestSummary | None:
    """Poll one source, then hand its new or changed papers to matching (all it holds when
    `again`: a retry). None if another poll holds the source."""
    summary = poll.source_poll(source_id, token=token, force=force, again=again)
    if summary is not None:
        papers_ingested_on_commit(summary.changed_ids)
    return summary


# The task names are those of the apps' modules the tasks lived in before the pipeline got
# its own module: messages already queued, and the beat schedule, keep finding them.
@shared_task(
    name="feeds.tasks.sources_poll_due",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def sources_poll_due() -> int:
    """Beat: enqueue a poll for every due source; returns how many."""
    due = poll.sources_due()
    for source_id in due:
        source_poll.delay(source_id)
    return len(due)


@shared_task(
    name="feeds.tasks.source_poll",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def source_poll(self: Task[Any, Any], source_id: int) -> None:
    """Poll one source. Idempotent: a redelivered poll writes nothing new twice. Retried
    when the database is away (academichub.celery.DatabaseRetryTask), with its lease and
    handing on every paper the feed holds, which the failed attempt may have stored."""
    try:
        source_poll_now(source_id, token=self.request.id or "", again=self.request.retries > 0)
    except SoftTimeLimitExceeded:
        source = Source.objects.get(id=source_id)
        poll.source_record_failure(
            source, FeedError(ErrorKind.TIMEOUT, "the poll ran past its time limit")
        )


def papers_ingested_on_commit(paper_ids: Sequence[int]) -> None:
    """Hand new or changed papers on once the transaction commits: to matching, and the latest
    days' papers to their cards, which need no match, so the front page shows summaries
    while the worker is still embedding them. Without an LLM, extractive cards (the llm
    queue has nothing else to do). With one, extractive stand-ins at once, in the match
    queue ahead of the papers' matching (behind the LLM's calls they could wait for hours);
    then their LLM cards as the budget's fill allows, in the front page's order, instead of
    at the next sweep. The hand-overs that need no database go first, so a database that
    goes away while the cards are requested loses nothing (matching asks for the matched
    papers' cards too; the sweep for the rest)."""
    if settings.LLM_SUMMARIZE == "off":
        papers_match_on_commit(paper_ids)
    elif llm_configured():
        stand_ins_enqueue(paper_ids)
        papers_match_on_commit(paper_ids)
        cards_fill_on_commit(paper_ids)
    else:
        papers_match_on_commit(paper_ids)
        cards_generate_on_commit(paper_ids)


# --- 2. Embed, then match --------------------------------------------------------------------


def papers_match_on_commit(paper_ids: Sequence[int]) -> None:
    """Enqueue matching of new or changed papers, in chunks, once the transaction commits."""
    ids = sorted(set(paper_ids))
    for start in range(0, len(ids), MATCH_CHUNK):
        enqueue_on_commit(papers_match, ids[start : start + MATCH_CHUNK])


@shared_task(
    name="radar.tasks.papers_match",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def papers_match(paper_ids: list[int]) -> dict[str, int]:
    """Embed these papers, score them against every active radar (idempotent), then ask for
    the summary cards of those LLM_SUMMARIZE wants (matched ones by default)."""
    result = matching.papers_match(paper_ids)
    if settings.LLM_SUMMARIZE != "off":
        # --- 3. Cards ---
        cards_generate_on_commit(paper_ids)
    return result


@shared_task(
    name="academichub.pipeline.papers_match_sweep",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def papers_match_sweep() -> int:
    """Beat: hand on to matching the papers stored lately (not in the last minutes) but never
    embedded, whose hand-over was lost (Redis away when their poll ended, a database outage
    between storing and handing on); returns how many. The papers' stored time is indexed
    (`paper_created_idx`), so a sweep reads the window, not the table."""
    embedded = PaperEmbedding.objects.filter(paper_id=OuterRef("pk"))
    now = timezone.now()
    ids = list(
        Paper.objects.filter(
            created_at__gte=now - MATCH_SWEEP_WINDOW, created_at__lt=now - MATCH_SWEEP_GRACE
        )
        .exclude(Exists(embedded))
        .order_by("id")
        .values_list("id", flat=True)[:MATCH_SWEEP_LIMIT]
    )
    papers_match_on_commit(ids)
    return len(ids)


def radar_rescored_to_cards(radar_id: int) -> list[int]:
    """After a radar was rescored (it was saved, or got its English profile): its matches get
    their cards now, not at the next sweep. Connected to `radar.signals.radar_rescored` in
    academichub/apps.py; returns the ids that will get cards."""
    if settings.LLM_SUMMARIZE == "off":
        return []
    return radar_cards_on_commit(radar_id)
