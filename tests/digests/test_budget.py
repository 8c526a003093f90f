"""The daily token budget: shared by every worker through Redis, never exceeded, and a spent
budget leaves cards pending until the next UTC day (nothing lost)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from pytest_django.fixtures import Settings

from digests import llm
from digests.cards import CARD_MAX_TOKENS, CARD_SCHEMA, card_messages, cards_generate
from digests.models import Card, LLMCall
from feeds.models import Paper, Source
from testkit.fake_llm import FakeLLM
from tests.factories import MatchFactory, make_paper, radar_of


def matched_papers(source: Source, user: User, n: int) -> list[Paper]:
    radar = radar_of(user)
    papers = [make_paper(source, title=f"Sparse attention study {i}") for i in range(n)]
    for paper in papers:
        MatchFactory.create(radar=radar, paper=paper)
    return papers


def next_utc_midnight() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


@pytest.mark.django_db
def test_a_spent_budget_leaves_cards_pending_until_tomorrow(
    llm_settings: Settings, fake_llm: FakeLLM, arxiv_source: Source, alice: User, client: Client
) -> None:
    papers = matched_papers(arxiv_source, alice, 3)
    one_call = llm.token_bound(card_messages(papers[0]), CARD_SCHEMA, CARD_MAX_TOKENS)
    # Room for one reservation; after it settles to 900 tokens, not for a second one.
    llm_settings.LLM_DAILY_TOKEN_BUDGET = one_call + 800

    counts = cards_generate([p.pk for p in papers])

    assert len(fake_llm.card_requests) == 1
    assert counts["done"] == 1 and counts["deferred"] == 2
    waiting = Card.objects.filter(status=Card.Status.PENDING).order_by("id")
    assert waiting.count() == 2
    for card in waiting:
        assert card.next_attempt_at == next_utc_midnight()
        assert card.last_error.startswith("budget")
        assert card.attempts == 0  # not a failure: just tomorrow
        assert not card.polls
    assert llm.budget_spent() == 900  # the reservation settled to the reported usage
    page = client.get(f"/papers/{waiting[0].paper.key}/").content.decode()
    assert "Summary pending…" in page
    assert "hx-trigger" not in page  # nothing to poll for until tomorrow


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_spend_more_than_the_budget(
    llm_settings: Settings, fake_llm: FakeLLM
) -> None:
    from tests.factories import SourceFactory, UserFactory

    source = SourceFactory.create(slug="arxiv-b", kind=Source.Kind.ARXIV_RSS)
    papers = matched_papers(source, UserFactory.create(name="budget"), 16)
    budget = 14_000
    llm_settings.LLM_DAILY_TOKEN_BUDGET = budget
    llm_settings.LLM_CONCURRENCY = 4
    ids = [p.pk for p in papers]

    # Two "workers" (each with four threads) take overlapping batches at once.
    def worker(batch: list[int]) -> None:
        try:
            cards_generate(batch, concurrency=4)
        finally:
            connection.close()

    runs = [threading.Thread(target=worker, args=(batch,)) for batch in (ids, ids[::-1])]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=60)

    served = len(fake_llm.card_requests)
    assert 1 <= served < len(papers)  # the budget stopped some
    assert served * 900 <= budget  # the endpoint's own count of what was spent
    assert llm.budget_spent() == served * 900
    assert Card.objects.filter(status=Card.Status.DONE).count() == served
    assert LLMCall.objects.filter(outcome="ok").count() == served
    # Each paper was asked about at most once, and every paper has a card or is waiting.
    titles = [r.paper["title"] for r in fake_llm.card_requests]
    assert len(titles) == len(set(titles))
    assert Card.objects.filter(status=Card.Status.PENDING).count() == len(papers) - served
    assert not Card.objects.filter(status=Card.Status.FAILED).exists()


# A worker process of its own: only Redis and the budget's Lua script, as digests.llm runs it.
RESERVER = """
import random, sys, time
import redis
url, budget, seed, key, script = sys.argv[1:6]
client = redis.Redis.from_url(url)
reserve = client.register_script(script)
rng = random.Random(int(seed))
granted = refused = 0
client.blpop(["go"], timeout=30)  # all four start together
for _ in range(500):
    amount = rng.randint(50, 900)
    if int(reserve(keys=[key], args=[amount, int(budget), 60])) < 0:
        refused += 1
        if refused >= 3:
            break
    else:
        granted += amount
    time.sleep(0.002)  # the call itself
print(granted)
"""


@pytest.mark.django_db
def test_four_processes_reserving_at_once_stay_within_the_cap(redis_client: redis.Redis) -> None:
    budget = 100_000
    key = llm.BUDGET_KEY.format(day="test-day")
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RESERVER,
                settings.REDIS_URL,
                str(budget),
                str(seed),
                key,
                llm._RESERVE,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for seed in range(4)
    ]
    redis_client.rpush("go", *[1] * len(processes))
    granted = [int(process.communicate(timeout=60)[0]) for process in processes]

    total = int(redis_client.get(key) or 0)
    assert all(g > 0 for g in granted), granted  # all four really competed
    assert sum(granted) == total
    assert budget - 900 < total <= budget


@pytest.mark.django_db
def test_no_budget_means_no_cap_but_usage_is_still_counted(
    llm_settings: Settings, fake_llm: FakeLLM, arxiv_source: Source, alice: User
) -> None:
    llm_settings.LLM_DAILY_TOKEN_BUDGET = 0
    papers = matched_papers(arxiv_source, alice, 2)

    cards_generate([p.pk for p in papers])

    assert Card.objects.filter(status=Card.Status.DONE).count() == 2
    assert llm.budget_spent() == 1800
    assert llm.budget_key().endswith(datetime.now(UTC).date().isoformat())
