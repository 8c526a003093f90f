from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from radar.matching import papers_announced_since, papers_match


class Command(BaseCommand):
    help = "Score papers announced since DATE (default: the last 7 days) against active radars."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="YYYY-MM-DD, inclusive")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["since"]:
            try:
                since = date.fromisoformat(options["since"])
            except ValueError as exc:
                raise CommandError(f"--since must be YYYY-MM-DD, not {options['since']!r}") from exc
        else:
            since = timezone.localdate() - timedelta(days=7)
        summary = papers_match(papers_announced_since(since))
        self.stdout.write(json.dumps({"since": since.isoformat(), **summary}))
