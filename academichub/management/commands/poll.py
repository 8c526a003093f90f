from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from academichub.pipeline import source_poll_now
from feeds.models import Source


class Command(BaseCommand):
    help = "Fetch sources now, synchronously (--all skips disabled and paused sources)."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--source", help="slug of one source")
        group.add_argument("--all", action="store_true", help="every enabled source")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["source"]:
            sources = list(Source.objects.filter(slug=options["source"]))
            if not sources:
                raise CommandError(f"no source with slug {options['source']!r}")
        else:
            # Paused sources wait for staff to unpause them; name one with --source to force it.
            sources = [
                s
                for s in Source.objects.filter(enabled=True).order_by("kind", "slug")
                if not s.paused
            ]
        failed = 0
        for source in sources:
            # New or changed papers go on to matching, for the workers if they run.
            summary = source_poll_now(source.id, force=True)
            source.refresh_from_db()
            line: dict[str, Any] = {"source": source.slug}
            if summary is None:
                line["status"] = "busy: another poll holds this source"
            elif source.last_error:
                failed += 1
                line.update(status="error", kind=source.last_error_kind, error=source.last_error)
            else:
                line.update(status="ok", **summary.as_dict())
            self.stdout.write(json.dumps(line, ensure_ascii=False))
        if failed:
            raise CommandError(f"{failed} of {len(sources)} sources failed")
