from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from feeds.catalogue import sources_seed


class Command(BaseCommand):
    help = "Create the default source catalogue (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        created, existing = sources_seed()
        self.stdout.write(f"sources: {created} created, {existing} already present")
