"""Briefing benchmark: 1,000 readers over 50 radars, one dispatch at everyone's hour.

A throwaway database gets 50 radars (40 with new matches, 10 without), 12 matched papers
per radar with summary cards, and 1,000 users each following one radar (a third of them two)
and reading in English, Chinese or both. One `dispatch_due` (the beat task's work, run in this process) builds the briefings
against a local OpenAI-compatible server (testkit/fake_llm.py, answering at once, so
the figures are our own cost, not a model's) and hands every email to a local SMTP server
(aiosmtpd, testkit/smtp_sink.py) over one connection.

Checked: LLM calls = radars with content × languages wanted (not users); one email per
reader with a radar with content (however many radars they follow), none for the others;
HTML under 100 KB.
Reported: total seconds, messages per second, and the split between building and sending.

    python bench/briefings.py [--users 1000] [--radars 50] [--empty 10] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academichub.settings")
os.environ["TEST_DATABASE_NAME"] = "bench_digests"
os.environ.setdefault("EMBEDDED_REDIS_DB", "8")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Profile  # noqa: E402
from digests import delivery, schedule  # noqa: E402
from digests.cards import text_hash  # noqa: E402
from digests.models import Briefing, Card, Delivery, LLMCall  # noqa: E402
from feeds.models import Paper, PaperSighting, Source  # noqa: E402
from radar.models import Match, Radar, Subscription  # noqa: E402
from testkit.briefing_llm import answering_briefings, briefing_requests  # noqa: E402
from testkit.fake_llm import FakeLLM  # noqa: E402
from testkit.smtp_sink import Sink, mailer_settings  # noqa: E402

SEED = 20260112
PAPERS_PER_RADAR = 12
DISCIPLINES = [
    ("arxiv-cs", Source.Kind.ARXIV_RSS, "arXiv cs", "Computer Science"),
    ("biorxiv", Source.Kind.BIORXIV_API, "bioRxiv", "Biology"),
    ("medrxiv", Source.Kind.MEDRXIV_API, "medRxiv", "Medicine"),
    ("science", Source.Kind.RSS, "Science", "Multidisciplinary"),
]
TOPICS = [
    "sparse attention", "protein folding", "vaccine trials", "graph neural networks",
    "single-cell sequencing", "quantum error correction", "climate models", "causal inference",
]  # fmt: skip
ABSTRACT = (
    "We study {topic} at scale. Our method combines a learned model with careful controls, "
    "and we report results on three public benchmarks. It improves on the previous state of "
    "the art while using a third of the compute. We discuss limits and release our code."
)


def generate(users: int, radars: int, empty: int, now: datetime) -> list[Radar]:
    """Sources, papers with cards, radars with matches, users with profiles and follows."""
    rng = random.Random(SEED)
    sources = [
        Source.objects.create(slug=slug, kind=kind, url=f"https://example.org/{slug}",
                              label=label, discipline=discipline, poll_interval=timedelta(hours=1))
        for slug, kind, label, discipline in DISCIPLINES
    ]  # fmt: skip
    owner = User.objects.create(username="owner@example.org", email="owner@example.org")
    made = Radar.objects.bulk_create(
        [Radar(owner=owner, name=f"Radar {n}", public=True) for n in range(radars)]
    )
    papers: list[Paper] = []
    for r in range(radars - empty):
        for n in range(PAPERS_PER_RADAR):
            topic = TOPICS[(r + n) % len(TOPICS)]
            papers.append(
                Paper(
                    key=f"2601.{r:03d}{n:02d}",
                    arxiv_id=f"2601.{r:03d}{n:02d}",
                    title=f"Advances in {topic}: study {r}-{n}",
                    abstract=ABSTRACT.format(topic=topic),
                    authors=["Ada Lovelace", "Alan Turing"],
                    primary_category="cs.LG",
                    categories=["cs.LG"],
                    announced=now.date(),
                    content_hash="x",
                )
            )
    Paper.objects.bulk_create(papers)
    papers = list(Paper.objects.order_by("id"))
    PaperSighting.objects.bulk_create(
        [PaperSighting(source=sources[i % len(sources)], paper=p) for i, p in enumerate(papers)]
    )
    Card.objects.bulk_create(
        [
            Card(
                paper=p, text_hash=text_hash(p.title, p.abstract), prompt_version="card-v1",
                model="fake-model", status=Card.Status.DONE,
                en={"tldr": f"The authors advance {p.title.lower()} with a third of the compute."},
                zh={"tldr": "作者以三分之一的计算量推进了这一方向的研究。"},
                keywords=[p.title.split(":")[0].removeprefix("Advances in ")],
            )
            for p in papers
        ]
    )  # fmt: skip
    matches = []
    for i, p in enumerate(papers):
        radar = made[i // PAPERS_PER_RADAR]
        matches.append(
            Match(radar=radar, paper=p, score=1.0 - (i % PAPERS_PER_RADAR) * 0.02,
                  reasons=[["phrase", "x"]], announced=p.announced,
                  created_at=now - timedelta(hours=3) + timedelta(seconds=i))
        )  # fmt: skip
    Match.objects.bulk_create(matches)
    people = User.objects.bulk_create(
        [User(username=f"u{n}@example.org", email=f"u{n}@example.org") for n in range(users)]
    )
    # The first readers cover every radar in English and in Chinese, the rest are mixed.
    languages = ["en"] * 4 + ["zh"] * 3 + ["both"] * 3
    Profile.objects.bulk_create(
        [
            Profile(
                user=u,
                timezone="UTC",
                delivery_hour=now.hour,
                language=rng.choice(["en", "zh-hans"]),
                card_language=languages[n % len(languages)]
                if n >= 2 * radars
                else ("en", "zh")[n // radars],
            )
            for n, u in enumerate(people)
        ]
    )
    follows = [(u, made[n % radars]) for n, u in enumerate(people)]
    follows += [(u, made[(7 * n + 3) % radars]) for n, u in enumerate(people) if n % 3 == 0]
    Subscription.objects.bulk_create(
        [
            Subscription(user=u, radar=r, frequency="daily",
                         created_at=datetime(2020, 1, 1, tzinfo=UTC))
            for u, r in follows
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    return made


def smtp_baseline(sink: Sink, count: int) -> float:
    """Seconds to hand `count` copies of one finished message to the server (Django's SMTP
    backend over one connection, nothing else)."""
    from django.core import mail

    message = mail.EmailMultiAlternatives(
        "Baseline", "x" * 4000, "bench@example.org", ["reader@example.org"]
    )
    message.attach_alternative("<p>" + "x" * 12000 + "</p>", "text/html")
    backend = mail.mailers.default
    started = time.perf_counter()
    with backend:
        for _ in range(count):
            backend.send_messages([message])
    elapsed = time.perf_counter() - started
    del sink.raw[-count:]
    return elapsed


def html_of(message: EmailMessage) -> str:
    """The HTML part of a received message."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--radars", type=int, default=50)
    parser.add_argument("--empty", type=int, default=10, help="radars without new matches")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    with connection.cursor() as cursor:
        name = connection.ops.quote_name(connection.settings_dict["TEST"]["NAME"])
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    llm = FakeLLM().start()
    answering_briefings(llm)
    sink = Sink().start()
    try:
        settings.LLM_BASE_URL = llm.base_url
        settings.LLM_API_KEY = "sk-bench"
        settings.LLM_MODEL = "fake-model"
        settings.LLM_DAILY_TOKEN_BUDGET = 0
        settings.MAILERS = mailer_settings(sink.port, timeout=20)
        settings.SITE_URL = "https://academichub.example"
        now = timezone.now()
        started = time.perf_counter()
        radars = generate(args.users, args.radars, args.empty, now)
        print(f"generate: {time.perf_counter() - started:.1f} s", flush=True)

        building = [0.0]
        build = delivery._briefings_for

        def timed_build(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return build(*args, **kwargs)
            finally:
                building[0] += time.perf_counter() - began

        delivery._briefings_for = timed_build
        started = time.perf_counter()
        result = delivery.dispatch_due(now=now)
        total = time.perf_counter() - started
        delivery._briefings_for = build

        with_content = args.radars - args.empty
        subs = Subscription.objects.filter(radar__in=radars[:with_content]).select_related(
            "user__profile"
        )
        wanted = {
            (s.radar_id, lang)
            for s in subs
            for lang in schedule.LANGUAGES[s.user.profile.card_language]
        }
        calls = len(briefing_requests(llm))
        assert calls == len(wanted), (calls, len(wanted))
        assert LLMCall.objects.filter(purpose="briefing").count() == calls
        expected_mails = len({s.user_id for s in subs})
        received = len(sink.messages)
        states = Counter(Delivery.objects.values_list("state", flat=True))
        assert received == expected_mails == states["sent"], (received, expected_mails, states)
        assert states["skipped"] == args.users - expected_mails
        html_max = max(len(html_of(m).encode()) for m in sink.messages)
        assert html_max < 100_000, html_max
        llm_ms = sum(LLMCall.objects.values_list("duration_ms", flat=True)) / 1000
        baseline = smtp_baseline(sink, received)
        figures = {
            "readers": args.users,
            "subscriptions": Subscription.objects.count(),
            "radars": args.radars,
            "radars_with_content": with_content,
            "briefings": Briefing.objects.exclude(status="empty").count(),
            "llm_calls": calls,
            "emails": received,
            "skipped_no_content": states["skipped"],
            "total_s": round(total, 2),
            "messages_per_s": round(received / total, 1),
            "llm_wait_s": round(llm_ms, 2),
            "building_s": round(building[0], 2),
            "sending_s": round(total - building[0], 2),
            "baseline_smtp_messages_per_s": round(received / baseline, 1),
            "ratio_to_bare_smtp": round(total / baseline, 1),
            "html_kb_max": round(html_max / 1024, 1),
            "dispatch": result,
        }
        print(
            f"dispatch: {received} emails to {args.users} readers of {args.radars} radars "
            f"({with_content} with new matches) in {total:.2f} s = {received / total:.0f} "
            f"messages/s; {calls} LLM calls (radars with content x languages, not users), "
            f"{llm_ms:.2f} s of it waiting for the (instant) fake LLM; building "
            f"{building[0]:.2f} s, sending {total - building[0]:.2f} s",
            flush=True,
        )
        print(
            f"baseline: the same number of one pre-rendered message handed to the same server "
            f"over one connection, no database: {baseline:.2f} s "
            f"({received / baseline:.0f} messages/s); dispatch = {total / baseline:.1f}x that",
            flush=True,
        )
        print(json.dumps(figures))
    finally:
        sink.stop()
        llm.stop()
        teardown_databases(old_config, verbosity=0, keepdb=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
