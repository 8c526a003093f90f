"""The site's cache backend: Redis, but a page never depends on it to answer.

Every cache call that finds Redis away answers as a miss (reads give their default, writes do
nothing, `add` and `incr` report a fresh key), so callers compute from the database instead.
The first failure is logged once, as is the recovery; in between Redis is not asked again for
RETRY_SECONDS, so a Redis that hangs costs one connect timeout per interval, not per request.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# How long the cache is left alone after a failure before Redis is asked again.
RETRY_SECONDS = 5.0


class _Outage:
    """Whether Redis is known to be away (for the whole process), and until when."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down = False
        self.retry_at = 0.0

    def skipping(self) -> bool:
        """True while Redis failed less than RETRY_SECONDS ago: do not ask it."""
        return self.down and time.monotonic() < self.retry_at

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            first = not self.down
            self.down, self.retry_at = True, time.monotonic() + RETRY_SECONDS
        if first:
            logger.warning("cache unavailable, pages answer from the database: %s", exc)

    def answered(self) -> None:
        if self.down:
            with self.lock:
                back, self.down = self.down, False
            if back:
                logger.warning("cache available again")


OUTAGE = _Outage()


def _or_miss[**P, R](miss: Callable[..., R]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the cache call; when Redis is away, answer `miss(*args, **kwargs)` instead."""

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            if OUTAGE.skipping():
                return miss(*args, **kwargs)
            try:
                result = method(*args, **kwargs)
            except (RedisError, OSError) as exc:
                OUTAGE.failed(exc)
                return miss(*args, **kwargs)
            OUTAGE.answered()
            return result

        return call

    return wrap


def _default(self: Any, key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def _added(*args: Any, **kwargs: Any) -> bool:
    return True


def _absent(*args: Any, **kwargs: Any) -> bool:
    return False


def _fresh_count(self: Any, key: Any, delta: int = 1, *args: Any, **kwargs: Any) -> int:
    return delta


def _no_entries(*args: Any, **kwargs: Any) -> dict[Any, Any]:
    return {}


def _none_failed(*args: Any, **kwargs: Any) -> list[Any]:
    return []


class ResilientRedisCache(RedisCache):
    """Django's Redis cache whose failures are misses (see the module docstring)."""

    get = _or_miss(_default)(RedisCache.get)
    set = _or_miss(_nothing)(RedisCache.set)
    add = _or_miss(_added)(RedisCache.add)
    touch = _or_miss(_absent)(RedisCache.touch)
    delete = _or_miss(_absent)(RedisCache.delete)
    has_key = _or_miss(_absent)(RedisCache.has_key)
    incr = _or_miss(_fresh_count)(RedisCache.incr)
    get_many = _or_miss(_no_entries)(RedisCache.get_many)
    set_many = _or_miss(_none_failed)(RedisCache.set_many)
    delete_many = _or_miss(_nothing)(RedisCache.delete_many)
    clear = _or_miss(_nothing)(RedisCache.clear)
