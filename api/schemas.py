"""The API's JSON shapes: a paper is exactly `feeds.export.paper_export`; a radar is the
definition of DESIGN §7 (`radar.services.RADAR_FIELDS`) plus its id and timestamps."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from api.selectors import MAX_PAGE
from radar.scoring import DEFAULT_THRESHOLD
from radar.understanding import understood_for


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


# --- radars and topics ---------------------------------------------------------------------


class UnderstoodIn(Schema):
    """A search profile in English written by the radar's owner (it replaces the LLM's)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field("", description="the interest in one to three English sentences")
    keywords: list[str] = Field(
        default_factory=list, description="up to 12 English words or short phrases"
    )


class UnderstoodOut(Schema):
    """The radar's description understood as an English search profile."""

    text: str = Field(description="an English paraphrase of the description")
    keywords: list[str] = Field(description="English phrases matched in titles and abstracts")
    by: Literal["llm", "you"] = Field(description="written by the language model, or by you")
    model: str = Field(description="the language model that wrote it ('' if you did)")


class RadarIn(Schema):
    """A radar definition. Every field may be left out here: `radar_clean` decides what a
    new radar needs (a name, and a description, phrases, authors or examples) and answers
    422 with a message per field; PATCH sends only the fields to change."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", description="shown in lists and briefings (at most 120 characters)")
    description: str = Field(
        "",
        description="the interest in plain words, any language; papers close to it in "
        "meaning match even without a phrase hit",
    )
    include: str = Field(
        "",
        description="a query: quoted phrases, AND/OR/NOT and parentheses, e.g. "
        '`"prompt injection" OR jailbreak NOT survey`',
    )
    exclude: list[str] = Field(
        default_factory=list, description="phrases that keep a paper out, always"
    )
    categories: list[str] = Field(
        default_factory=list, description="only papers in one of these arXiv categories"
    )
    sources: list[str] = Field(
        default_factory=list, description="only papers one of these sources carried (slugs)"
    )
    authors: list[str] = Field(default_factory=list, description="followed authors")
    examples: list[str] = Field(
        default_factory=list, description="example papers: arXiv ids or DOIs (paper keys)"
    )
    threshold: float = Field(
        DEFAULT_THRESHOLD,
        description="the lowest score shown, in points (5 to 95): higher shows fewer, closer papers",
    )
    public: bool = Field(False, description="listed as a topic others can subscribe to")
    understood: UnderstoodIn | None = Field(
        None,
        description="your own English search profile of the description (kept until the "
        "description changes); null hands it back to the language model",
    )


class RadarOut(Schema):
    """A radar: its definition, id and timestamps (never its feed token or profile)."""

    id: int
    name: str
    description: str
    include: str
    exclude: list[str]
    categories: list[str]
    sources: list[str]
    authors: list[str]
    examples: list[str]
    threshold: float
    public: bool
    understood: UnderstoodOut | None = Field(
        None,
        description="the description as an English search profile, when one describes it "
        "now (null: none yet, or no language model configured)",
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_understood(obj: Any) -> dict[str, Any] | None:
        """The profile that describes the radar now (`radar.understanding.understood_for`)."""
        profile = understood_for(obj)
        if profile is None:
            return None
        return {
            "text": profile.text,
            "keywords": list(profile.keywords),
            "by": profile.by,
            "model": profile.model,
        }


class RadarListOut(Schema):
    """The token owner's radars, by name."""

    radars: list[RadarOut]


class PreviewIn(RadarIn):
    """A radar definition (nothing is stored) and the window of papers to score."""

    days: int = Field(
        7, ge=0, le=366, description="the last N announcement days with papers; 0 = all papers"
    )


class PreviewMatchOut(Schema):
    """A paper the radar would catch, its score and why."""

    key: str
    title: str
    announced: dt.date
    score: float = Field(description="points 0 to 100, the sum of the parts the reasons name")
    reasons: list[str] = Field(description="in the language asked for (Accept-Language)")


class PreviewOut(Schema):
    """The best matches first (at most 20)."""

    matches: list[PreviewMatchOut]


class MatchOut(PreviewMatchOut):
    """A stored match, with the token owner's rating of the paper in this radar."""

    feedback: Literal[1, -1] | None = Field(description="1 👍, -1 👎, null: not rated")


class MatchPageOut(Schema):
    """One page of a radar's matches, newest announcement day first, best first within it."""

    count_on_page: int
    page: int
    next_page: int | None
    matches: list[MatchOut]


class MatchQuery(Schema):
    """Which page of matches."""

    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page of 50 matches")


class FeedbackIn(Schema):
    """A rating of one paper in this radar: it steers the radar's later matches."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="the paper's key (arXiv id or DOI)")
    value: Literal[1, -1, 0] = Field(description="1 👍, -1 👎, 0 clears the rating")


class FeedbackOut(Schema):
    """The rating as stored."""

    key: str
    value: Literal[1, -1, 0]


class TopicOut(RadarOut):
    """A public radar anyone can subscribe to."""

    subscriber_count: int
    subscribed: bool = Field(description="whether the token owner follows it")


class TopicQuery(Schema):
    """Search and order of the topics directory."""

    q: str = Field("", description="words in the name or description")
    sort: Literal["subscribers", "name", "newest"] = "subscribers"
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page of 50 topics")


class TopicPageOut(Schema):
    """One page of public topics."""

    count_on_page: int
    page: int
    next_page: int | None
    topics: list[TopicOut]


class SubscriptionOut(Schema):
    """Whether the token owner now follows the topic, and how many do."""

    id: int
    subscribed: bool
    subscriber_count: int


class ValidationErrorOut(Schema):
    """422: one entry per problem; `loc` ends with the field's name, `msg` says what is wrong."""

    detail: list[dict[str, Any]]
