"""`manage.py ingest`: a saved response stored as a poll would store it, and its papers on
through the pipeline at once (DESIGN §8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from academichub.pipeline import papers_ingested_on_commit
from feeds.models import Source
from feeds.pipeline.poll import IngestSummary, body_ingest
from feeds.sources import ADAPTERS, get_adapter
from feeds.sources.base import FeedError
from radar.embedding import EmbeddingError
from radar.profiles import papers_embed


class Command(BaseCommand):
    help = (
        "Parse a saved response and upsert it (prints one JSON summary line); then embed the "
        "new or changed papers, so a radar's live preview finds them as soon as the command "
        "returns, and hand them on to matching and cards as a poll does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=sorted(ADAPTERS))
        parser.add_argument("--file", required=True, type=Path)
        parser.add_argument("--source", help="slug of the source to record as the carrier")
        parser.add_argument(
            "--no-embed",
            action="store_true",
            help="leave embedding to the workers (a large backfill: about 40 papers a second "
            "per core here)",
        )

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
        self.stdout.flush()
        if not summary.changed_ids:
            return
        if not options["no_embed"]:
            self._embed(summary.changed_ids)
        # Matching, and cards, by the workers (queued until one runs).
        papers_ingested_on_commit(summary.changed_ids)

    def _embed(self, paper_ids: list[int]) -> None:
        # The papers' vectors now, in this process (about 40 papers a second per core), rather
        # than whenever a worker gets to them: the command is how a saved day is loaded, and
        # the next thing its user does is try a radar on it.
        try:
            embedded = papers_embed(paper_ids)
        except EmbeddingError as exc:
            self.stderr.write(f"ingest: not embedded ({exc}); the workers will embed them")
        else:
            self.stderr.write(f"ingest: {embedded} papers embedded")


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
