from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

import feeds
from academichub.pipeline import papers_ingested_on_commit
from feeds.models import Paper, Source
from feeds.pipeline.poll import body_ingest

DEMO_DATA = Path(feeds.__file__).resolve().parent / "demo_data"

# file, source slug, kind, label, discipline: real recorded responses bundled with the code.
# Readers see the label: it names the real source (the slug says it is a sample), since
# Nature's papers are Nature's whichever copy of the feed brought them.
SAMPLES = [
    ("arxiv-rss-2024-11-28.xml.gz", "sample-arxiv", Source.Kind.ARXIV_RSS,
     "arXiv", "Multidisciplinary"),
    ("nature-rss-2024-07-18.rdf.gz", "sample-nature", Source.Kind.RSS,
     "Nature", "Multidisciplinary"),
    ("biorxiv-2026-07-18.json", "sample-biorxiv", Source.Kind.BIORXIV_API,
     "bioRxiv", "Biology"),
]  # fmt: skip


class Command(BaseCommand):
    help = (
        "Load the bundled sample feeds so an offline install has content; the workers embed "
        "and match them as they would polled papers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when papers already exist"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Paper.objects.exists():
            self.stdout.write("demo: papers already present; nothing loaded")
            return
        changed: list[int] = []
        for filename, slug, kind, label, discipline in SAMPLES:
            source, _ = Source.objects.get_or_create(
                slug=slug,
                defaults={
                    "kind": kind,
                    "url": "https://example.invalid/sample",
                    "label": label,
                    "discipline": discipline,
                    # Sample sources are never polled: they stand for the bundled files.
                    "enabled": False,
                },
            )
            path = DEMO_DATA / filename
            body = path.read_bytes()
            if filename.endswith(".gz"):
                body = gzip.decompress(body)
            summary = body_ingest(source, body)
            changed += summary.changed_ids
            self.stdout.write(f"demo: {label}: {json.dumps(summary.as_dict())}")
        # On to the pipeline like polled papers: extractive cards first when no LLM is
        # configured, then embedded, so a first radar's live preview finds them.
        papers_ingested_on_commit(changed)
