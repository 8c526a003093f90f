"""Factories and helpers for the reading-page tests (Today, paper page, search)."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.test import Client

from feeds.models import Paper, PaperSighting, Source
from tests.factories import PaperFactory, SourceFactory

DAY = date(2024, 11, 28)


class SightingFactory(factory.django.DjangoModelFactory[PaperSighting]):
    class Meta:
        model = PaperSighting

    source = factory.SubFactory(SourceFactory)
    paper = factory.SubFactory(PaperFactory)
    announce_type = "new"


def arxiv_source(slug: str = "arxiv-cs-cl", **fields: Any) -> Source:
    """An arXiv RSS source (get or create by slug)."""
    defaults = {"kind": Source.Kind.ARXIV_RSS, "label": "arXiv cs.CL", **fields}
    return Source.objects.get_or_create(slug=slug, defaults={"url": "https://x.test/", **defaults})[
        0
    ]


def biorxiv_source() -> Source:
    """The bioRxiv API source."""
    return Source.objects.get_or_create(
        slug="biorxiv",
        defaults={
            "kind": Source.Kind.BIORXIV_API,
            "label": "bioRxiv",
            "discipline": "Biology",
            "url": "https://api.biorxiv.org/details/biorxiv",
        },
    )[0]


def journal_source(slug: str = "science", label: str = "Science") -> Source:
    """A journal RSS source."""
    return Source.objects.get_or_create(
        slug=slug,
        defaults={
            "kind": Source.Kind.RSS,
            "label": label,
            "discipline": "Multidisciplinary",
            "url": "https://www.science.org/rss",
        },
    )[0]


def arxiv_paper(source: Source | None = None, **fields: Any) -> Paper:
    """An arXiv paper seen by an arXiv source."""
    fields.setdefault("primary_category", "cs.CL")
    fields.setdefault("categories", [fields["primary_category"]])
    fields.setdefault("announced", DAY)
    paper = PaperFactory.create(**fields)
    paper.links = paper.links or {
        "abs": f"https://arxiv.org/abs/{paper.arxiv_id}",
        "pdf": f"https://arxiv.org/pdf/{paper.arxiv_id}v{paper.version}",
        "html": f"https://arxiv.org/html/{paper.arxiv_id}v{paper.version}",
    }
    paper.save(update_fields=["links"])
    SightingFactory.create(
        source=source or arxiv_source(), paper=paper, announce_type=paper.announce_type
    )
    return paper


def biorxiv_paper(**fields: Any) -> Paper:
    """A bioRxiv preprint, keyed by its DOI."""
    doi = fields.pop("doi", "10.1101/2024.11.20.624000")
    fields.setdefault("primary_category", "bioinformatics")
    fields.setdefault("categories", [fields["primary_category"]])
    fields.setdefault("announced", DAY)
    abs_url = f"https://www.biorxiv.org/content/{doi}v1"
    paper = PaperFactory.create(
        key=doi,
        doi=doi,
        arxiv_id="",
        links={"abs": abs_url, "pdf": abs_url + ".full.pdf", "doi": f"https://doi.org/{doi}"},
        **fields,
    )
    SightingFactory.create(source=biorxiv_source(), paper=paper)
    return paper


def journal_paper(source: Source | None = None, **fields: Any) -> Paper:
    """A journal article (HTML abstract already sanitised), keyed by its DOI."""
    doi = fields.pop("doi", "10.1126/science.adq0001")
    fields.setdefault("announced", DAY)
    paper = PaperFactory.create(
        key=doi,
        doi=doi,
        arxiv_id="",
        links={"abs": f"https://www.science.org/doi/{doi}", "doi": f"https://doi.org/{doi}"},
        **fields,
    )
    SightingFactory.create(source=source or journal_source(), paper=paper)
    return paper


def signed_in(client: Client, email: str = "reader@example.org") -> Any:
    """Log `client` in as a fresh user and return the user."""
    user_model = get_user_model()
    fields: dict[str, Any] = {"email": email, "password": "a long passphrase 42"}
    if user_model.USERNAME_FIELD != "email":
        fields[user_model.USERNAME_FIELD] = email.split("@")[0]
    user = user_model.objects.create_user(**fields)
    client.force_login(user)
    return user


def text_of(page: str) -> str:
    """The page's visible text with whitespace collapsed (tags removed, entities decoded)."""
    without_tags = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(without_tags).split())
