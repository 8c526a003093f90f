"""`manage.py briefings [--radar ID | --user EMAIL] [--send]`: build the current period's
briefings now and, with --send, mail every reader concerned the email they are still owed
this period (whatever the hour; never twice per reader and period)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from digests.delivery import radar_briefings_now, reader_briefings_now
from digests.models import Briefing
from radar.models import Radar


class Command(BaseCommand):
    help = (
        "Build the current period's briefings of one radar, one reader (their email's radars) "
        "or every active radar; with --send, mail now each reader concerned the one email "
        "they are still owed this period. One JSON line per radar or reader."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--radar", type=int, help="only this radar (id)")
        which.add_argument("--user", help="only this reader's email (their address)")
        parser.add_argument(
            "--send", action="store_true", help="mail it now, whatever the delivery hour"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        send = bool(options["send"])
        if options["user"]:
            user = get_user_model().objects.filter(email__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"no user with the address {options['user']}")
            briefings, counts = reader_briefings_now(user, send=send)
            self._line({"user": user.email}, briefings, counts, send)
            return
        radars = Radar.objects.defer("profile").order_by("id")
        if options["radar"] is not None:
            radars = radars.filter(pk=options["radar"])
            if not radars.exists():
                raise CommandError(f"no radar with id {options['radar']}")
        else:
            radars = radars.filter(active=True)
        for radar in radars.iterator():
            briefings, counts = radar_briefings_now(radar, send=send)
            self._line({"radar": radar.pk}, briefings, counts, send)

    def _line(
        self,
        head: dict[str, Any],
        briefings: Sequence[Briefing],
        counts: Counter[str],
        send: bool,
    ) -> None:
        line = {
            **head,
            "briefings": [
                {
                    "id": b.pk,
                    "radar": b.radar_id,
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
        if send:
            line["deliveries"] = dict(sorted(counts.items()))
        self.stdout.write(json.dumps(line))
