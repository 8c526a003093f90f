"""The API's JSON shapes for the docs; a paper is exactly `feeds.export.paper_export`."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from api.selectors import MAX_PAGE


class PaperOut(Schema):
    """A paper under the field names of `manage.py export_papers` (DESIGN §8)."""

    key: str
    arxiv_id: str
    doi: str
    version: int
    announce_type: str
    title: str
    abstract: str
    authors: list[str]
    primary_category: str
    categories: list[str]
    announced: str = Field(description="ISO date of the announcement")
    journal_ref: str
    journal_doi: str
    links: dict[str, str] = Field(description="abs, pdf, html and doi, where known")
    sources: list[str] = Field(description="labels of the feeds that carried the paper")
    card: dict[str, Any] | None = Field(
        None,
        description="once generated: status, title_zh, and en/zh with tldr, motivation, "
        "method, result, conclusion (absent before)",
    )


class PaperPageOut(Schema):
    """One page of papers; `next_page` is null on the last page."""

    count_on_page: int
    page: int
    next_page: int | None
    papers: list[PaperOut]


class PaperQuery(Schema):
    """The filters of the Today page, plus full-text search."""

    date: dt.date | None = Field(
        None, description="announcement day (YYYY-MM-DD); without it and q, the latest day"
    )
    source: str = Field("", description="only papers this source carried (its slug)")
    category: str = Field("", description="papers listed in this category, e.g. cs.CL")
    announce_type: Literal["", "new", "cross", "replace", "replace-cross"] = ""
    q: str = Field("", description="search words; quoted phrases, OR and -word work")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page of 50 papers")


class ErrorOut(Schema):
    """What every error response carries."""

    detail: str
