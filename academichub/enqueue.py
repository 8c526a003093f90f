"""Handing work to the Celery workers without failing the caller when Redis, the broker, is
away: the caller's write stands (a saved radar, stored papers), the failure is logged once
per outage, and the beat's sweeps send the work when Redis is back (`radars_rescore_sweep`,
`papers_match_sweep`, `cards_sweep`, `radars_understand_sweep`, the dispatcher).

Every hand-over after a commit goes through `enqueue_on_commit`; apps import this module
(it imports none of them).
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What sending raises with the broker away: kombu's wrapper once its publish retries are
# spent, or the client's own error should one escape it.
BROKER_AWAY = (BrokerError, RedisError, OSError)


class _Outage:
    """Whether the last send failed (for the whole process): the first failure and the
    recovery are logged, the sends in between are not."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down = False

    def failed(self, task: str, exc: BaseException) -> None:
        with self.lock:
            first, self.down = not self.down, True
        if first:
            logger.warning(
                "queue unavailable, %s and later tasks not sent (the beat's sweeps send them "
                "when it is back): %s",
                task,
                exc,
            )

    def answered(self) -> None:
        if self.down:
            with self.lock:
                back, self.down = self.down, False
            if back:
                logger.warning("queue available again")


OUTAGE = _Outage()


def enqueue(task: Task[Any, Any], *args: Any) -> bool:
    """Send `task(*args)` to its queue now; False (logged once per outage) when the broker
    is away."""
    try:
        task.delay(*args)
    except BROKER_AWAY as exc:
        OUTAGE.failed(task.name, exc)
        return False
    OUTAGE.answered()
    return True


def enqueue_on_commit(task: Task[Any, Any], *args: Any) -> None:
    """Send `task(*args)` once the current transaction commits (at once outside one), never
    raising for a broker that is away (see `enqueue`)."""
    transaction.on_commit(partial(enqueue, task, *args))
