"""`manage.py briefings [--radar ID] [--send]`: build the current period's briefings now and,
with --send, mail them to every subscriber (whatever the hour; never twice per period)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from digests.delivery import radar_briefings_now
from radar.models import Radar


class Command(BaseCommand):
    help = (
        "Build the current period's briefing of one radar (or every active one); with --send, "
        "mail it now to its subscribers whose frequency is not off. One JSON line per radar."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--radar", type=int, help="only this radar (id)")
        parser.add_argument(
            "--send", action="store_true", help="mail it now, whatever the delivery hour"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        radars = Radar.objects.defer("profile").order_by("id")
        if options["radar"] is not None:
            radars = radars.filter(pk=options["radar"])
            if not radars.exists():
                raise CommandError(f"no radar with id {options['radar']}")
        else:
            radars = radars.filter(active=True)
        for radar in radars.iterator():
            briefings, counts = radar_briefings_now(radar, send=options["send"])
            line = {
                "radar": radar.pk,
                "briefings": [
                    {
                        "id": b.pk,
                        "period": b.cadence,
                        "period_start": b.period_start.isoformat(),
                        "language": b.language,
                        "status": b.status,
                        "papers": len(b.paper_ids),
                        "matches": b.match_count,
                    }
                    for b in briefings
                ],
            }
            if options["send"]:
                line["deliveries"] = dict(sorted(counts.items()))
            self.stdout.write(json.dumps(line))
