from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feeds.models import Source
from feeds.pipeline.poll import IngestSummary, body_ingest
from feeds.sources import ADAPTERS, get_adapter
from feeds.sources.base import FeedError


class Command(BaseCommand):
    help = "Parse a saved response and upsert it; prints one JSON summary line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=sorted(ADAPTERS))
        parser.add_argument("--file", required=True, type=Path)
        parser.add_argument("--source", help="slug of the source to record as the carrier")

    def handle(self, *args: Any, **options: Any) -> None:
        kind: str = options["kind"]
        source = source_for_file(kind, options["source"])
        try:
            body = options["file"].read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        try:
            summary = body_ingest(source, body, adapter=get_adapter(kind))
        except FeedError as exc:
            self.stdout.write(json.dumps(IngestSummary(errors=1).as_dict()))
            raise CommandError(f"{exc.kind}: {exc.message}") from exc
        self.stdout.write(json.dumps(summary.as_dict()))


def source_for_file(kind: str, slug: str | None) -> Source:
    """The named source, or a disabled one standing for files of this kind."""
    if slug:
        try:
            return Source.objects.get(slug=slug)
        except Source.DoesNotExist as exc:
            raise CommandError(f"no source with slug {slug!r}") from exc
    source, _ = Source.objects.get_or_create(
        slug=f"file-{kind.replace('_', '-')}",
        defaults={"kind": kind, "url": "file:///", "label": f"{kind} (file)", "enabled": False},
    )
    return source
