"""Cards benchmark: the real card pipeline (digests.cards, the openai client) against an
OpenAI-compatible server on loopback (testkit/fake_llm.py), on recorded arXiv papers.

Figures: LLM calls per paper for a fresh batch (must be exactly 1.0) and after re-ingesting
the same feed and a replacement with an unchanged abstract (must be 0), prompt and
completion tokens per paper (the fake server counts about 4 characters per token, like
English BPE), and throughput at concurrency 1 and LLM_CONCURRENCY with a simulated model
latency, plus our own overhead per card with no latency. Runs in its own throwaway database.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academichub.settings")
os.environ["TEST_DATABASE_NAME"] = "bench_cards"
os.environ.setdefault("EMBEDDED_REDIS_DB", "2")

import django  # noqa: E402
import openai  # noqa: E402, F401  (imported before timing: ~1.5 s on its own)

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from digests import llm  # noqa: E402
from digests.cards import cards_due, cards_generate  # noqa: E402
from digests.models import Card  # noqa: E402
from feeds.models import Paper, Source  # noqa: E402
from feeds.pipeline.poll import body_ingest  # noqa: E402
from radar.models import Match, Radar  # noqa: E402
from testkit.fake_llm import Captured, FakeLLM, Reply, card_reply, valid_card  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "feeds" / "arxiv-rss-all-archives-2024-11-28.xml"
BATCH = 120
# A fast hosted model answers a card in a few seconds; 0.25 s keeps the run short while
# the wait still dominates, as it does in production.
LATENCY = 0.25


def fake_answer(latency: float) -> Callable[[Captured], Reply]:
    """Valid cards, usage counted from the request and answer lengths (~4 chars a token)."""

    def answer(captured: Captured) -> Reply:
        card = valid_card(str(captured.paper.get("title", "")))
        prompt_chars = sum(len(m["content"]) for m in captured.messages)
        body = json.dumps(card, ensure_ascii=False)
        reply = card_reply(
            card, prompt_tokens=prompt_chars // 4 + 8, completion_tokens=len(body) // 3
        )
        reply.delay = latency
        return reply

    return answer


def fresh_batch() -> None:
    """Forget every card and call, so the next run starts from nothing."""
    Card.objects.all().delete()
    llm._redis(settings.REDIS_URL).delete(llm.budget_key())


def run(server: FakeLLM, ids: list[int], concurrency: int, latency: float) -> dict[str, object]:
    server.default = fake_answer(latency)
    before = len(server.card_requests)
    started = time.perf_counter()
    counts = cards_generate(ids, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    calls = len(server.card_requests) - before
    cards = Card.objects.filter(paper_id__in=ids, status="done")
    prompt = sum(cards.values_list("prompt_tokens", flat=True))
    completion = sum(cards.values_list("completion_tokens", flat=True))
    return {
        "run": f"fresh batch, concurrency {concurrency}, latency {latency:g} s",
        "papers": len(ids),
        "done": counts["done"],
        "llm_calls_per_paper": round(calls / len(ids), 3),
        "prompt_tokens_per_paper": round(prompt / len(ids)),
        "completion_tokens_per_paper": round(completion / len(ids)),
        "seconds": round(elapsed, 2),
        "papers_per_s": round(len(ids) / elapsed, 1),
        "ms_per_paper": round(1000 * elapsed / len(ids), 1),
    }


def main() -> None:
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    old_config = setup_databases(verbosity=0, interactive=False)
    server = FakeLLM().start()
    settings.LLM_BASE_URL = server.base_url
    settings.LLM_API_KEY = "sk-bench"
    settings.LLM_MODEL = "bench-model"
    settings.LLM_DAILY_TOKEN_BUDGET = 0
    settings.LLM_SUMMARIZE = "matched"
    concurrency = max(2, int(os.environ.get("LLM_CONCURRENCY", settings.LLM_CONCURRENCY)))
    results: list[dict[str, object]] = []
    try:
        source = Source.objects.create(slug="bench", kind="arxiv_rss", url="https://x", label="b")
        body = FIXTURE.read_bytes()
        body_ingest(source, body)
        papers = list(Paper.objects.exclude(abstract="").order_by("id")[:BATCH])
        ids = [p.pk for p in papers]
        owner = User.objects.create(username="bench")
        radar = Radar.objects.create(owner=owner, name="bench")
        Match.objects.bulk_create(
            [Match(radar=radar, paper=p, score=1.0, announced=p.announced) for p in papers]
        )

        for level, latency in ((1, 0.0), (1, LATENCY), (concurrency, LATENCY)):
            fresh_batch()
            results.append(run(server, ids, level, latency))
            if level == 1 and latency == 0.0:
                results[-1]["run"] = "fresh batch, no latency (our overhead per card)"

        # Re-ingest the same feed, then a replacement (v2) of every paper with its abstract
        # unchanged: no new call, no card due.
        before = len(server.card_requests)
        body_ingest(source, body)
        Paper.objects.filter(id__in=ids).update(version=2, content_hash="replaced")
        again = cards_generate(ids, concurrency=concurrency)
        due = cards_due(limit=10_000)
        results.append(
            {
                "run": "re-ingest + replacement with unchanged abstracts",
                "papers": len(ids),
                "llm_calls_per_paper": round((len(server.card_requests) - before) / len(ids), 3),
                "skipped": again["skipped"],
                "due_after": len(due),
            }
        )
    finally:
        server.stop()
        connection.close()
        teardown_databases(old_config, verbosity=0)
    for r in results:
        print(json.dumps(r, ensure_ascii=False))
    fresh = [r for r in results if str(r["run"]).startswith("fresh")]
    serial, parallel = fresh[1], fresh[2]
    print(
        "targets: llm_calls_per_paper == 1.0 fresh, == 0 on re-ingest | "
        f"fresh {[r['llm_calls_per_paper'] for r in fresh]}, "
        f"re-ingest {results[-1]['llm_calls_per_paper']} | "
        f"tokens/paper {serial['prompt_tokens_per_paper']} + "
        f"{serial['completion_tokens_per_paper']} | "
        f"throughput {serial['papers_per_s']}/s at 1, {parallel['papers_per_s']}/s at "
        f"{concurrency} ({LATENCY:g} s latency) | overhead {fresh[0]['ms_per_paper']} ms/card"
    )
    ok = all(r["llm_calls_per_paper"] == 1.0 for r in fresh) and (
        results[-1]["llm_calls_per_paper"] == 0
    )
    if not ok:
        sys.exit("bench/cards: LLM calls per paper off target")


if __name__ == "__main__":
    main()
