"""The Celery app and the static beat schedule (exactly one beat process runs it)."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academichub.settings")

app = Celery("academichub")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_configure.connect
def _configure(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.conf.update(
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        beat_schedule={
            "sources-poll-due": {"task": "feeds.tasks.sources_poll_due", "schedule": 300.0},
            "cards-sweep": {"task": "digests.tasks.cards_sweep", "schedule": 600.0},
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


@task_prerun.connect
@task_postrun.connect
def _close_stale_connections(**kwargs: object) -> None:
    # A PostgreSQL restart leaves workers holding dead connections (celery #2996).
    from django.db import close_old_connections

    close_old_connections()
