"""Users for the accounts and saved-papers tests: alice (owner), bob (other), a visitor."""

from __future__ import annotations

import random
import uuid

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.test import Client

PASSWORD = "correct horse battery staple 42"


class UserFactory(factory.django.DjangoModelFactory[User]):
    """An active user with a confirmed primary email address, ready to log in."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    # Unique per run as well as per test: allauth's rate limits live in Redis, which
    # outlives the test database.
    email = factory.LazyAttribute(lambda o: f"{o.name}-{uuid.uuid4().hex[:10]}@example.org")
    username = factory.SelfAttribute("email")

    class Params:
        name = "user"

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


def random_ip() -> str:
    """A client address of its own, so per-IP limits never carry over between tests."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def fresh_client(**kwargs: object) -> Client:
    """A test client from an address no earlier test used."""
    return Client(REMOTE_ADDR=random_ip(), **kwargs)  # type: ignore[arg-type]
