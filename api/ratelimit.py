"""A fixed-window request counter in the shared cache (Redis), atomic across workers."""

from __future__ import annotations

import logging
import math
import time

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def rate_limit_hit(*, key: str, limit: int, window: int = 60) -> int | None:
    """Count one request against `key`; seconds to wait when over `limit` in this window."""
    now = time.time()
    slot = int(now // window)
    cache_key = f"ratelimit:{key}:{slot}"
    try:
        # add() is a no-op when the counter exists; it outlives its window so incr never misses.
        cache.add(cache_key, 0, timeout=window * 2)
        try:
            count = cache.incr(cache_key)
        except ValueError:
            # Evicted between add and incr: start again rather than fail the request.
            cache.add(cache_key, 1, timeout=window * 2)
            count = 1
    except (RedisError, OSError):
        # Redis down: serve the request unlimited rather than fail it (pages stay up too).
        logger.warning("rate limit not applied: the cache is unavailable", exc_info=True)
        return None
    if count <= limit:
        return None
    return max(1, math.ceil((slot + 1) * window - now))
