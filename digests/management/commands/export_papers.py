from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Prefetch

from digests.selectors import card_row, papers_with_cards
from feeds.export import paper_export
from feeds.models import Paper, PaperSighting, Source


class Command(BaseCommand):
    help = "Print papers as JSON lines (the stable field names of DESIGN §8)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", action="append", default=[], help="a paper key (repeatable)")
        parser.add_argument("--source", help="only papers this source carried (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        papers = Paper.objects.order_by("-announced", "id").prefetch_related(
            Prefetch("sightings", queryset=PaperSighting.objects.select_related("source"))
        )
        if options["key"]:
            papers = papers.filter(key__in=options["key"])
        if options["source"]:
            if not Source.objects.filter(slug=options["source"]).exists():
                raise CommandError(f"no source with slug {options['source']!r}")
            papers = papers.filter(sightings__source__slug=options["source"])
        # Each paper's card comes in the same query, as a subquery.
        for paper in papers_with_cards(papers).iterator(chunk_size=1000):
            line = paper_export(paper, card_row(paper))
            self.stdout.write(json.dumps(line, ensure_ascii=False))
