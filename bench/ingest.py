"""Ingest benchmark: arXiv RSS through parse → normalise → sanitise → upsert into PostgreSQL.

Figures are ratios against `feedparser.parse` alone on the same bytes, measured in the same
run (targets: first load within 3x of feedparser; a re-load of the unchanged feed at least
5x faster than the first load). Runs in its own throwaway database.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academichub.settings")
os.environ["TEST_DATABASE_NAME"] = "bench_academichub"
os.environ.setdefault("EMBEDDED_REDIS_DB", "2")

import django  # noqa: E402

django.setup()

import feedparser  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from feeds.models import Paper, PaperSighting, Source  # noqa: E402
from feeds.pipeline.poll import body_ingest  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "feeds" / "arxiv-rss-all-archives-2024-11-28.xml"
REPEATS = 3


def feed_of(size: int) -> bytes:
    """The recorded feed, its items repeated under fresh ids up to `size` items."""
    text = FIXTURE.read_text()
    items = re.findall(r"<item>.*?</item>", text, flags=re.S)
    head, tail = text.split("<item>", 1)[0], "</channel>\n</rss>\n"
    out = []
    for i in range(size):
        item = items[i % len(items)]
        if i >= len(items):
            old = re.search(r"arxiv\.org/abs/(\S+?)</link>", item)
            assert old is not None
            item = item.replace(old.group(1), f"9912.{i:05d}")
        out.append(item)
    return (head + "\n".join(out) + tail).encode()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(label: str, body: bytes, source: Source) -> dict[str, float | int | str]:
    items = body.count(b"<item>")
    parse_times, first_times, reload_times = [], [], []
    for _ in range(REPEATS):
        parse_times.append(
            timed(lambda: feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False))
        )
        PaperSighting.objects.all().delete()
        Paper.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE feeds_paper")
        first_times.append(timed(lambda: body_ingest(source, body)))
        reload_times.append(timed(lambda: body_ingest(source, body)))
    parse, first, reload = (statistics.median(t) for t in (parse_times, first_times, reload_times))
    return {
        "feed": label,
        "items": items,
        "feedparser_s": round(parse, 3),
        "first_load_s": round(first, 3),
        "reload_s": round(reload, 3),
        "first_load_papers_per_s": round(items / first),
        "first_load_vs_feedparser": round(first / parse, 2),
        "first_load_vs_reload": round(first / reload, 1),
    }


def main() -> None:
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        source = Source.objects.create(slug="bench", kind="arxiv_rss", url="https://x", label="b")
        results = [
            run("arxiv 1504 (recorded)", FIXTURE.read_bytes(), source),
            run("arxiv 2000 (built from it)", feed_of(2000), source),
        ]
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
    for r in results:
        print(json.dumps(r))
    print(
        "targets: first_load_vs_feedparser <= 3.0, first_load_vs_reload >= 5.0 | "
        + " ; ".join(
            f"{r['feed']}: {r['first_load_vs_feedparser']}x feedparser, "
            f"reload {r['first_load_vs_reload']}x faster"
            for r in results
        )
    )


if __name__ == "__main__":
    main()
