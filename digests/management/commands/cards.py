"""`manage.py cards [--limit N]`: generate the cards that are due, now, in this process."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from digests import cards


class Command(BaseCommand):
    help = "Generate the summary cards that are due, synchronously; prints one JSON line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="at most this many papers")
        parser.add_argument(
            "--days",
            type=int,
            default=cards.DUE_WINDOW_DAYS,
            help="look this many days back (from each source's newest day) for matched papers "
            "without a card",
        )
        parser.add_argument(
            "--outdated",
            action="store_true",
            help="also regenerate cards made with another prompt version or model",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids = cards.cards_due(
            limit=max(0, options["limit"]), days=options["days"], outdated=options["outdated"]
        )
        counts = cards.cards_generate(ids, concurrency=int(settings.LLM_CONCURRENCY))
        prompt_version, model = cards.current_key()
        self.stdout.write(
            json.dumps(
                {**counts, "due": len(ids), "prompt_version": prompt_version, "model": model}
            )
        )
