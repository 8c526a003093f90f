from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.tokens import TokenLimitReached, token_create


class Command(BaseCommand):
    help = "Create a personal API token for the user with this email and print it (only it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the user's email address")
        parser.add_argument("--name", default="", help="what the token is for (shown in settings)")

    def handle(self, *args: Any, **options: Any) -> None:
        users = list(get_user_model().objects.filter(email__iexact=options["email"].strip())[:2])
        if len(users) != 1:
            raise CommandError(
                f"no user with the email {options['email']!r}"
                if not users
                else f"more than one user with the email {options['email']!r}"
            )
        try:
            _, secret = token_create(user=users[0], name=options["name"] or "manage.py api_token")
        except TokenLimitReached as exc:
            raise CommandError("that user has the maximum number of tokens; revoke one") from exc
        self.stdout.write(secret)
