"""`manage.py api_token EMAIL [--name NAME]` prints a new token, and only it."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from api.models import ApiToken
from api.tokens import TOKEN_RE
from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue()


def test_it_prints_a_token_that_authenticates(alice: Any) -> None:
    output = run("alice@example.org", "--name", "cron job")

    secret = output.strip()
    assert output == secret + "\n"
    assert TOKEN_RE.match(secret)
    assert ApiToken.objects.get(user=alice).name == "cron job"
    assert Client(headers=bearer(secret)).get("/api/v1/papers").status_code == 200


def test_the_email_is_matched_without_case(alice: Any) -> None:
    run("Alice@Example.ORG")

    assert ApiToken.objects.filter(user=alice).count() == 1


def test_an_unknown_email_is_an_error(alice: Any) -> None:
    with pytest.raises(CommandError, match="no user"):
        run("nobody@example.org")

    assert not ApiToken.objects.exists()
