"""factory-boy factories for the models tests build, and the builders tests share."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import factory
from django.contrib.auth.models import User

from accounts.models import Profile
from feeds.models import Paper, PaperSighting, Source
from radar.models import Match, Radar, Subscription
from tests.accounts.factories import UserFactory


class SourceFactory(factory.django.DjangoModelFactory[Source]):
    class Meta:
        model = Source

    slug = factory.Sequence(lambda n: f"source-{n}")
    kind = Source.Kind.ARXIV_RSS
    url = "https://rss.arxiv.org/rss/cs.CL"
    label = factory.Sequence(lambda n: f"Source {n}")
    discipline = "Computer Science"
    poll_interval = timedelta(hours=1)


class PaperFactory(factory.django.DjangoModelFactory[Paper]):
    class Meta:
        model = Paper

    key = factory.Sequence(lambda n: f"2411.{n:05d}")
    arxiv_id = factory.SelfAttribute("key")
    title = factory.Sequence(lambda n: f"Paper number {n}")
    abstract = "An abstract."
    authors = factory.LazyFunction(lambda: ["Ada Lovelace"])
    announced = factory.LazyFunction(lambda: date(2024, 11, 28))
    content_hash = "x"


# --- People, radars and papers for briefings -------------------------------------------------


def person(
    name: str,
    *,
    zone: str = "UTC",
    hour: int = 7,
    weekday: int = 0,
    language: str = "en",
    digest_frequency: str = "daily",
) -> User:
    """A user with a confirmed address and a profile."""
    user = UserFactory.create(name=name)
    Profile.objects.create(
        user=user,
        timezone=zone,
        delivery_hour=hour,
        delivery_weekday=weekday,
        language=language,
        digest_frequency=digest_frequency,
    )
    return user


def follow(
    user: User,
    radar: Radar,
    *,
    frequency: str = "daily",
    language: str = "en",
    since: datetime | None = None,
) -> Subscription:
    """`user` subscribed to `radar` (long ago unless `since`)."""
    return Subscription.objects.create(
        user=user,
        radar=radar,
        frequency=frequency,
        language=language,
        created_at=since or datetime(2020, 1, 1, tzinfo=UTC),
    )


def sources() -> dict[str, Source]:
    """An arXiv, a bioRxiv and a journal source, each of its own discipline."""
    return {
        "cs": SourceFactory.create(
            slug="arxiv-cs", kind=Source.Kind.ARXIV_RSS, label="arXiv cs",
            discipline="Computer Science",
        ),
        "bio": SourceFactory.create(
            slug="biorxiv", kind=Source.Kind.BIORXIV_API, label="bioRxiv",
            discipline="Biology", url="https://api.biorxiv.org/details/biorxiv",
        ),
        "med": SourceFactory.create(
            slug="plos-med", kind=Source.Kind.RSS, label="PLOS Medicine",
            discipline="Medicine", url="https://journals.plos.org/plosmedicine/feed/atom",
        ),
    }  # fmt: skip


def paper(source: Source, title: str, **fields: Any) -> Paper:
    """A paper seen by `source`."""
    fields.setdefault(
        "abstract",
        "We propose a sparse attention scheme for long inputs. It keeps a few global tokens "
        "and attends locally. On two benchmarks it matches full attention with a third of "
        "the memory.",
    )
    if source.kind == Source.Kind.ARXIV_RSS:
        fields.setdefault("primary_category", "cs.CL")
        fields.setdefault("categories", ["cs.CL", "cs.LG"])
    else:
        fields.setdefault("primary_category", "bioinformatics" if source.kind != "rss" else "")
        fields.setdefault(
            "categories", [fields["primary_category"]] if fields["primary_category"] else []
        )
    if source.kind != Source.Kind.ARXIV_RSS:
        n = Paper.objects.count()
        fields.setdefault("key", f"10.1101/2026.{n:06d}")
        fields.setdefault("arxiv_id", "")
        fields.setdefault("doi", fields["key"])
    made = PaperFactory.create(title=title, **fields)
    PaperSighting.objects.create(source=source, paper=made, announce_type="new")
    return made


def matched(
    radar: Radar, papers: list[Paper], *, at: datetime, step: timedelta | None = None
) -> None:
    """Match rows for `papers` created at `at` (best first: falling scores)."""
    for n, item in enumerate(papers):
        Match.objects.create(
            radar=radar,
            paper=item,
            score=1.0 - n * 0.01,
            reasons=[["phrase", "sparse attention"]],
            created_at=at + (step or timedelta(0)) * n,
        )
