"""factory-boy factories for the models tests build."""

from __future__ import annotations

from datetime import date, timedelta

import factory

from feeds.models import Paper, Source


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
