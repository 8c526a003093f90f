"""The Celery app, the queues and the one table routing every task to them, and the static
beat schedule (exactly one beat process runs it)."""

from __future__ import annotations

import os
import random
from typing import Any

import psycopg
from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import beat_init, task_postrun, task_prerun
from django.db import InterfaceError, OperationalError, connections
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academichub.settings")

# PostgreSQL away (stopped, restarting, failing over, a connection cut): Django's wrappers
# and psycopg's own, should one escape them.
DATABASE_AWAY = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
DATABASE_BACKOFF_MAX = 60.0


class DatabaseRetryTask(Task[Any, Any]):
    """Every task's base: when the database is away the task is retried with exponential
    back-off, not left for the next beat tick. Tasks are safe to run twice (claims, leases,
    upserts). A task's own `autoretry_for` or `max_retries` in its decorator replaces this."""

    autoretry_for = DATABASE_AWAY
    max_retries = 10

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        """For the database away: drop this process's connections (dead; the retry opens new
        ones) and wait `database_backoff`, unless the caller chose when."""
        if isinstance(kwargs.get("exc"), DATABASE_AWAY):
            connections.close_all()
            if kwargs.get("countdown") is None and kwargs.get("eta") is None:
                kwargs["countdown"] = database_backoff(self.request.retries)
        return super().retry(*args, **kwargs)


def database_backoff(retries: int) -> float:
    """Seconds before retry number `retries` + 1: 1, 2, 4 … at most 60, each between half and
    all of that (jitter that never retries at once), so the ten retries span at least 150 s,
    and a task waits at most about twice as long as the database was away."""
    return min(DATABASE_BACKOFF_MAX, 2.0**retries) * random.uniform(0.5, 1.0)


app = Celery("academichub", task_cls=DatabaseRetryTask)
app.config_from_object("django.conf:settings", namespace="CELERY")

# One queue per pipeline stage, so a stage's backlog or outage (an LLM that hangs, a slow
# briefing run) never delays another: workers consume some of them (`-Q poll`), or all.
POLL, MATCH, LLM, MAIL = "poll", "match", "llm", "mail"
QUEUES = (POLL, MATCH, LLM, MAIL)

# Every task, by name, to its stage's queue: the one place routes live. A task missing here
# would wait in the default queue, which no worker consumes (tests/ops/test_queues.py fails).
TASK_ROUTES: dict[str, str] = {
    # Fetching feeds (HTTP, politeness waits): the beat dispatcher and one poll per source.
    "feeds.tasks.sources_poll_due": POLL,
    "feeds.tasks.source_poll": POLL,
    # Embedding and scoring (CPU): new papers, and a saved or rated radar.
    "radar.tasks.papers_match": MATCH,
    "radar.tasks.radar_rescore": MATCH,
    "radar.tasks.radar_profile_refresh": MATCH,
    # Extractive stand-in cards of new papers while an LLM is configured (CPU, milliseconds
    # a card): ahead of their matching, not behind the LLM's calls.
    "digests.tasks.cards_stand_in": MATCH,
    # Their sweeps: hand-overs lost while Redis was away (academichub/enqueue.py).
    "academichub.pipeline.papers_match_sweep": MATCH,
    "radar.tasks.radars_rescore_sweep": MATCH,
    # The language model (slow, budgeted, may hang up to LLM_TIMEOUT): cards, a radar's
    # English profile, and building briefings (which then send their emails).
    "digests.tasks.cards_generate": LLM,
    "digests.tasks.cards_sweep": LLM,
    "digests.tasks.radar_understand": LLM,
    "digests.tasks.radars_understand_sweep": LLM,
    "digests.tasks.briefing_deliver": LLM,
    "digests.tasks.briefing_test_send": LLM,
    # SMTP: the quarter-hourly dispatcher and the retries of pending deliveries.
    "digests.tasks.digests_dispatch_due": MAIL,
    "digests.tasks.deliveries_send": MAIL,
    # The beat's heartbeat for /healthz (academichub/health.py): cheap, on a queue every
    # deployment consumes.
    "academichub.health.beat_heartbeat": POLL,
}


@app.on_after_configure.connect
def _configure(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.conf.update(
        broker_connection_retry_on_startup=True,
        # A worker whose broker went away (Redis restarted, failed over) keeps trying to
        # reconnect, never exits after Celery's default 100 tries; its queued work resumes.
        broker_connection_max_retries=None,
        broker_transport_options={"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        # With JSON logs the worker logs through the root handler of settings.LOGGING.
        worker_hijack_root_logger=settings.LOG_FORMAT != "json",
        # A worker started without -Q consumes all of these.
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        task_routes={task: {"queue": queue} for task, queue in TASK_ROUTES.items()},
        beat_schedule={
            "sources-poll-due": {"task": "feeds.tasks.sources_poll_due", "schedule": 300.0},
            "beat-heartbeat": {"task": "academichub.health.beat_heartbeat", "schedule": 60.0},
            "cards-sweep": {"task": "digests.tasks.cards_sweep", "schedule": 600.0},
            "papers-match-sweep": {
                "task": "academichub.pipeline.papers_match_sweep",
                "schedule": 600.0,
            },
            "radars-rescore-sweep": {"task": "radar.tasks.radars_rescore_sweep", "schedule": 600.0},
            "radars-understand-sweep": {
                "task": "digests.tasks.radars_understand_sweep",
                "schedule": 600.0,
            },
            # Briefing emails at each subscriber's local hour (digests.schedule): on the
            # quarter hours, so a 07:00 briefing leaves at 07:00, not up to 15 minutes later.
            "digests-dispatch-due": {
                "task": "digests.tasks.digests_dispatch_due",
                "schedule": crontab(minute="*/15"),
            },
        },
    )


app.autodiscover_tasks()
# The pipeline's hand-over tasks live above the apps, in academichub/pipeline.py.
app.autodiscover_tasks(["academichub"], related_name="pipeline")
app.autodiscover_tasks(["academichub"], related_name="health")


@task_prerun.connect
@task_postrun.connect
def _close_stale_connections(**kwargs: object) -> None:
    # A PostgreSQL restart leaves workers holding dead connections (celery #2996).
    from django.db import close_old_connections

    close_old_connections()


@beat_init.connect
def _first_heartbeat(**kwargs: object) -> None:
    # The schedule's first heartbeat comes a minute after the beat starts; send one at once so
    # a fresh deployment's /healthz (BEAT_HEARTBEAT_MAX_AGE) is ready as soon as a worker is.
    app.send_task("academichub.health.beat_heartbeat")
