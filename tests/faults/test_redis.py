"""Redis away: pages answer from the database, /healthz names Redis as down (503, JSON), the
cache's failure is logged once, and everything is back when Redis is. Polling waits for the
politeness clock instead of fetching. A throwaway redis-server, killed with SIGKILL."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from django.test import Client
from pytest_django.fixtures import Settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from feeds import http
from tests.factories import SourceFactory, make_paper
from tests.faults.servers import ThrowawayRedis

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>https://example.org/1</link><guid>1</guid></item>
</channel></rss>"""


@pytest.fixture
def on_throwaway_redis(settings: Settings, throwaway_redis: ThrowawayRedis) -> ThrowawayRedis:
    """The site's cache, health check and fetch turns on the throwaway Redis."""
    settings.REDIS_URL = throwaway_redis.url()
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": throwaway_redis.url()}}
    return throwaway_redis


@pytest.mark.django_db
def test_with_redis_killed_pages_answer_from_the_database_and_healthz_names_redis(
    on_throwaway_redis: ThrowawayRedis, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    source = SourceFactory.create(slug="arxiv-cs-faults", label="arXiv cs")
    make_paper(source, key="2601.00001", title="Cache-free attention")
    assert client.get("/healthz").status_code == 200
    assert b"Cache-free attention" in client.get("/").content

    on_throwaway_redis.kill()
    with caplog.at_level(logging.WARNING, logger="academichub.cache"):
        started = time.monotonic()
        pages = [client.get("/") for _ in range(5)]
        # A search keeps its ranking in the cache: without it, it is worked out each time.
        pages += [client.get("/search/", {"q": "attention"}) for _ in range(2)]
        elapsed = time.monotonic() - started
        health = client.get("/healthz")

    assert [p.status_code for p in pages] == [200] * 7
    # (the search's title has its word highlighted: "Cache-free <mark>attention</mark>")
    assert all(b"Cache-free " in p.content for p in pages)
    assert all(b"<mark>attention</mark>" in p.content for p in pages[5:])
    assert elapsed < 5, elapsed
    assert health.status_code == 503
    assert health.json() == {"status": "down", "down": ["redis"], "database": "ok", "redis": "down"}
    assert client.get("/healthz?live").status_code == 200
    # Once for the outage, not once per request.
    assert [r.getMessage() for r in caplog.records if "cache unavailable" in r.getMessage()] != []
    assert len([r for r in caplog.records if "cache unavailable" in r.getMessage()]) == 1

    on_throwaway_redis.start()
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200


def test_polling_waits_for_the_politeness_clock_rather_than_fetching_without_it(
    on_throwaway_redis: ThrowawayRedis, settings: Settings, httpserver: HTTPServer
) -> None:
    settings.FETCH_ALLOW_PRIVATE_IPS = True
    asked_at: list[float] = []

    def answer(request: Request) -> Response:
        asked_at.append(time.monotonic())
        return Response(RSS, content_type="application/rss+xml")

    httpserver.expect_request("/feed").respond_with_handler(answer)
    on_throwaway_redis.kill()
    result: list[object] = []
    fetching = threading.Thread(
        target=lambda: result.append(http.fetch(httpserver.url_for("/feed")))
    )
    fetching.start()
    time.sleep(1.5)
    assert asked_at == []  # nothing fetched while the clock is away
    back_at = time.monotonic()
    on_throwaway_redis.start()
    fetching.join(timeout=30)

    assert len(asked_at) == 1 and asked_at[0] >= back_at
    assert isinstance(result[0], http.FetchResult) and b"<title>One</title>" in result[0].body
