"""/metrics: Prometheus text for the bearer of METRICS_TOKEN only, with gauges that match the
database and the broker at the moment of the scrape."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings

from academichub.pipeline import source_poll, sources_poll_due
from digests.llm import budget_key
from digests.models import Card, Delivery
from digests.tasks import cards_generate
from feeds.models import PaperSighting
from tests.factories import SourceFactory, card_for, make_paper

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def token(settings: Settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One scrape, parsed: (sample name, sorted labels) → value."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_metrics_need_the_operators_token(client: Client, token: str) -> None:
    assert client.get("/metrics").status_code == 404
    for wrong in (f"Bearer {token}x", token, f"Basic {token}", "Bearer "):
        assert client.get("/metrics", headers={"Authorization": wrong}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_metrics_are_off_without_a_token(client: Client, settings: Settings) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer None"}).status_code == 404


def test_a_scrape_reports_sources_queues_cards_tokens_and_emails(
    client: Client, token: str, redis_client: redis.Redis, alice: User, settings: Settings
) -> None:
    today, earlier = date(2026, 3, 10), date(2026, 3, 9)
    arxiv = SourceFactory.create(slug="arxiv-cs")
    nature = SourceFactory.create(slug="nature", error_count=5, last_error="timeout")
    quiet = SourceFactory.create(slug="quiet", error_count=1, enabled=False)
    arxiv.last_success_at = timezone.now()
    arxiv.save()
    papers = [make_paper(arxiv, announced=today) for _ in range(3)]
    PaperSighting.objects.create(source=nature, paper=papers[0], announce_type="new")
    make_paper(nature, announced=earlier)
    make_paper(quiet, announced=earlier)
    card_for(papers[0], "done")
    card_for(papers[1], "failed")
    card_for(papers[2], "pending")
    sources_poll_due.delay()
    source_poll.delay(arxiv.pk)
    cards_generate.delay([papers[2].pk])
    redis_client.set(budget_key(), 12345)
    settings.LLM_DAILY_TOKEN_BUDGET = 500_000
    now = timezone.now()
    for days_ago, (hours_ago, state) in enumerate(
        [(0, "sent"), (10, "sent"), (20, "failed"), (30, "failed"), (40, "pending")]
    ):
        Delivery.objects.create(
            user=alice,
            cadence="day",
            period_start=now.date() - timedelta(days=days_ago),
            state=state,
            created_at=now - timedelta(hours=hours_ago),
        )

    metrics = scrape(client)

    def value(name: str, **labels: str) -> float:
        return metrics[(name, tuple(sorted(labels.items())))]

    assert value("academichub_papers_latest_day_timestamp_seconds") == 1773100800  # 2026-03-10
    assert value("academichub_source_papers_latest_day", source="arxiv-cs") == 3
    assert value("academichub_source_papers_latest_day", source="nature") == 1
    assert value("academichub_source_papers_latest_day", source="quiet") == 0
    assert value("academichub_source_errors", source="nature") == 5
    assert value("academichub_source_paused", source="nature") == 1
    assert value("academichub_source_paused", source="quiet") == 0
    assert value("academichub_source_enabled", source="quiet") == 0
    assert value("academichub_source_last_success_timestamp_seconds", source="arxiv-cs") == (
        pytest.approx(arxiv.last_success_at.timestamp())
    )
    assert ("academichub_source_last_success_timestamp_seconds", (("source", "nature"),)) not in (
        metrics
    )
    assert value("academichub_redis_up") == 1
    assert value("academichub_queue_length", queue="poll") == 2
    assert value("academichub_queue_length", queue="llm") == 1
    assert value("academichub_queue_length", queue="match") == 0
    assert value("academichub_queue_length", queue="mail") == 0
    assert value("academichub_queue_length", queue="celery") == 0
    for status in Card.Status.values:
        expected = Card.objects.filter(status=status).count()
        assert value("academichub_cards", status=status) == expected, status
    assert value("academichub_cards", status="failed") == 1
    assert value("academichub_llm_tokens_used_today") == 12345
    assert value("academichub_llm_token_budget_daily") == 500_000
    # Only the last 24 hours: the 30- and 40-hour-old emails are left out.
    assert value("academichub_deliveries_last_24h", state="sent") == 2
    assert value("academichub_deliveries_last_24h", state="failed") == 1
    assert value("academichub_deliveries_last_24h", state="pending") == 0


def test_a_scrape_says_when_redis_does_not_answer(
    client: Client, token: str, settings: Settings
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    metrics = scrape(client)
    assert metrics[("academichub_redis_up", ())] == 0
    assert not [name for name, _ in metrics if name == "academichub_queue_length"]
    # The database's gauges are still there.
    assert ("academichub_cards", (("status", "done"),)) in metrics


def test_a_scrape_takes_a_fixed_number_of_queries(
    client: Client, token: str, django_assert_num_queries: object
) -> None:
    for i in range(5):
        make_paper(SourceFactory.create(slug=f"s{i}"))
    with django_assert_num_queries(5):  # type: ignore[operator]
        scrape(client)


def test_a_paper_dated_past_tomorrow_is_not_the_latest_day(client: Client, token: str) -> None:
    # As on the front page: a date further ahead than tomorrow is a feed's mistake.
    source = SourceFactory.create(slug="arxiv-cs")
    today = timezone.localdate()
    make_paper(source, announced=today)
    make_paper(source, announced=today + timedelta(days=30))

    metrics = scrape(client)

    midnight = datetime.combine(today, time(), tzinfo=UTC)
    assert metrics[("academichub_papers_latest_day_timestamp_seconds", ())] == midnight.timestamp()
    assert metrics[("academichub_source_papers_latest_day", (("source", "arxiv-cs"),))] == 1
