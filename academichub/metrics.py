"""Prometheus metrics at /metrics: the site's own gauges, computed when scraped.

Answered only with `Authorization: Bearer $METRICS_TOKEN` (anything else, or no token
configured, is a 404, so the URL does not even show it exists). Every gauge is one indexed
query or one Redis pipeline, so a scrape stays cheap at a million papers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import redis
from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from academichub.celery import QUEUES
from academichub.celery import app as celery_app
from digests.llm import budget_spent
from digests.models import Card, Delivery
from feeds.models import Paper, PaperSighting, Source
from feeds.selectors import news_horizon


def _source_metrics() -> Iterator[Metric]:
    """Per source: papers on the latest announcement day, errors in a row, paused, last success."""
    horizon = news_horizon()
    latest = (
        Paper.objects.filter(announced__lte=horizon)
        .order_by("-announced")
        .values_list("announced", flat=True)
        .first()
    )
    per_source: dict[int, int] = {}
    if latest is not None:
        per_source = dict(
            PaperSighting.objects.filter(paper__announced=latest)
            .values_list("source_id")
            .annotate(n=Count("id"))
            .values_list("source_id", "n")
        )
    day = GaugeMetricFamily(
        "academichub_papers_latest_day_timestamp_seconds",
        "The latest announcement day of any paper (midnight UTC, Unix time)",
    )
    if latest is not None:
        day.add_metric([], datetime.combine(latest, time(), tzinfo=UTC).timestamp())
    yield day
    papers = GaugeMetricFamily(
        "academichub_source_papers_latest_day",
        "Papers each source carried on the latest announcement day",
        labels=["source"],
    )
    errors = GaugeMetricFamily(
        "academichub_source_errors", "Failed polls in a row per source", labels=["source"]
    )
    paused = GaugeMetricFamily(
        "academichub_source_paused",
        "1 if the source is at the error limit and left out of polling",
        labels=["source"],
    )
    enabled = GaugeMetricFamily(
        "academichub_source_enabled", "1 if the source is enabled", labels=["source"]
    )
    success = GaugeMetricFamily(
        "academichub_source_last_success_timestamp_seconds",
        "When the source was last polled successfully (Unix time)",
        labels=["source"],
    )
    for source in Source.objects.only(
        "id", "slug", "enabled", "error_count", "last_success_at"
    ).order_by("slug"):
        labels = [source.slug]
        papers.add_metric(labels, per_source.get(source.pk, 0))
        errors.add_metric(labels, source.error_count)
        paused.add_metric(labels, int(source.paused))
        enabled.add_metric(labels, int(source.enabled))
        if source.last_success_at is not None:
            success.add_metric(labels, source.last_success_at.timestamp())
    yield from (papers, errors, paused, enabled, success)


def _queue_metrics() -> Iterator[Metric]:
    """Messages waiting in each Celery queue (LLEN in the broker), and whether Redis answers."""
    up = GaugeMetricFamily("academichub_redis_up", "1 if Redis (broker, cache, budget) answers")
    depth = GaugeMetricFamily(
        "academichub_queue_length",
        "Tasks waiting in each Celery queue (celery: tasks without a route, should be 0)",
        labels=["queue"],
    )
    # With the default queue ("celery"), where a task with no route would wait unconsumed.
    queues = (*QUEUES, celery_app.conf.task_default_queue)
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(queue)
            lengths = pipe.execute()
    except redis.RedisError:
        up.add_metric([], 0)
        yield up
        return
    finally:
        client.close()
    up.add_metric([], 1)
    for queue, length in zip(queues, lengths, strict=True):
        depth.add_metric([queue], length)
    yield from (up, depth)


def _llm_metrics() -> Iterator[Metric]:
    """Summary cards by status, and today's LLM tokens against the daily budget."""
    cards = GaugeMetricFamily("academichub_cards", "Summary cards by status", labels=["status"])
    # COUNT(*) is answered from card_due_idx alone (about 40 ms at a million cards).
    counts = dict(Card.objects.values_list("status").annotate(n=Count("*")).order_by())
    for status in Card.Status.values:
        cards.add_metric([status], counts.get(status, 0))
    yield cards
    used = GaugeMetricFamily(
        "academichub_llm_tokens_used_today", "LLM tokens spent this UTC day by all workers"
    )
    with contextlib.suppress(redis.RedisError):  # academichub_redis_up says why
        used.add_metric([], budget_spent())
    yield used
    yield GaugeMetricFamily(
        "academichub_llm_token_budget_daily",
        "LLM_DAILY_TOKEN_BUDGET: tokens allowed per UTC day (0: no cap)",
        value=settings.LLM_DAILY_TOKEN_BUDGET,
    )


def _mail_metrics() -> Iterator[Metric]:
    """Briefing emails of the last 24 hours by state (sent, failed, pending, …)."""
    recent = GaugeMetricFamily(
        "academichub_deliveries_last_24h",
        "Briefing emails created in the last 24 hours, by state",
        labels=["state"],
    )
    since = timezone.now() - timedelta(hours=24)
    counts = dict(
        Delivery.objects.filter(created_at__gte=since, is_test=False)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for state in Delivery.State.values:
        recent.add_metric([state], counts.get(state, 0))
    yield recent


class SiteCollector(Collector):
    """The site's gauges, read from PostgreSQL and Redis at each scrape."""

    def collect(self) -> Iterator[Metric]:
        """Every gauge, computed now."""
        yield from _source_metrics()
        yield from _queue_metrics()
        yield from _llm_metrics()
        yield from _mail_metrics()


_registry = CollectorRegistry(auto_describe=False)
_registry.register(SiteCollector())


def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition, for the bearer of METRICS_TOKEN only (else 404)."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if not token or not constant_time_compare(given, f"Bearer {token}"):
        raise Http404
    return HttpResponse(generate_latest(_registry), content_type=CONTENT_TYPE_LATEST)
