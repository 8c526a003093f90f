"""What `/healthz` checks: PostgreSQL and Redis answer, and (where BEAT_HEARTBEAT_MAX_AGE is
set) the beat's heartbeat, written every minute by a task it schedules, is recent."""

from __future__ import annotations

import functools
import time

import redis
from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, connection

# Where the beat's heartbeat task leaves the Unix time it ran (no expiry: an old value says
# when the beat or the poll workers stopped).
HEARTBEAT_KEY = "beat:heartbeat"
# Each check waits this long at most (seconds).
CHECK_TIMEOUT = 2.0


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "down"
    return "ok"


def _redis_and_beat() -> dict[str, str]:
    max_age = settings.BEAT_HEARTBEAT_MAX_AGE
    try:
        client = _redis(settings.REDIS_URL)
        client.ping()
        beat = client.get(HEARTBEAT_KEY) if max_age else None
    except (redis.RedisError, OSError):
        return {"redis": "down", **({"beat": "unknown"} if max_age else {})}
    if not max_age:
        return {"redis": "ok"}
    fresh = beat is not None and time.time() - float(beat) <= max_age
    return {"redis": "ok", "beat": "ok" if fresh else "down"}


def health_checks() -> dict[str, str]:
    """Each required part ("database", "redis", and "beat" where checked): "ok" or "down"."""
    return {"database": _database(), **_redis_and_beat()}


@shared_task(name="academichub.health.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Beat, every minute: note that the beat (and a poll worker) still run."""
    _redis(settings.REDIS_URL).set(HEARTBEAT_KEY, f"{time.time():.0f}")
