"""Briefing answers for the fake OpenAI-compatible server (tests/digests/fake_llm.py), and
the people, radars and papers the briefing tests build.

`briefing_default` answers a briefing request with a valid briefing of exactly the papers in
its <briefing_data> block, in the language the prompt asks for, citing them by their refs;
anything else gets the server's own default (a card).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User

from accounts.models import Profile
from feeds.models import Paper, PaperSighting, Source
from radar.models import Match, Radar, Subscription
from tests.accounts.factories import UserFactory
from tests.digests.fake_llm import Captured, FakeLLM, Reply, card_reply, completion, valid_card
from tests.factories import PaperFactory, SourceFactory

EN = {
    "headline": "Sparse attention methods cut the memory of long-document models this week.",
    "title": "Sparse attention for long inputs",
    "synthesis": "These papers keep a few global tokens and attend locally, and they report "
    "that the memory of long-document models falls by about a third.",
    "insight": "The memory savings of sparse attention in language models are what genome "
    "models need to read long sequences.",
    "why": "It is the clearest account of the method and its limits.",
    "fields": ["Computer Science", "Biology"],
}
ZH = {
    "headline": "本期稀疏注意力方法显著降低了长文档模型的内存开销。",
    "title": "长输入的稀疏注意力",
    "synthesis": "这些论文保留少量全局词元并在局部窗口内计算注意力，报告内存占用下降约三分之一。",
    "insight": "语言模型中稀疏注意力节省的内存，正是基因组模型读取长序列所需要的。",
    "why": "它对方法及其局限的说明最为清楚。",
    "fields": ["计算机科学", "生物学"],
}


def request_data(captured: Captured) -> dict[str, Any]:
    """The JSON in the <briefing_data> block of a request's first user message."""
    user = next(m["content"] for m in captured.messages if m["role"] == "user")
    block = user.split("<briefing_data>", 1)[1].split("</briefing_data>", 1)[0]
    return dict(json.loads(block))


def is_briefing(captured: Captured) -> bool:
    """Whether the request asks for a briefing (rather than a card)."""
    return any("<briefing_data>" in str(m.get("content", "")) for m in captured.messages)


def request_language(captured: Captured) -> str:
    """en or zh, from the language the system prompt names."""
    system = next(m["content"] for m in captured.messages if m["role"] == "system")
    return "zh" if "Write every text in Simplified Chinese" in system else "en"


def valid_briefing(papers: list[dict[str, Any]], language: str = "en") -> dict[str, Any]:
    """A briefing that passes validation, citing exactly `papers` (dicts with ref and field)."""
    text = ZH if language == "zh" else EN
    refs = [p["ref"] for p in papers]
    count = min(3, len(refs))
    themes = [
        {
            "title": f"{text['title']} {n + 1}",
            "synthesis": text["synthesis"],
            "papers": refs[n::count],
        }
        for n in range(count)
    ]
    by_field: dict[str, str] = {}
    for paper in papers:
        by_field.setdefault(paper.get("field", ""), paper["ref"])
    links = []
    if len(by_field) > 1:
        links.append(
            {
                "fields": text["fields"],
                "insight": text["insight"],
                "papers": list(by_field.values())[:2],
            }
        )
    return {
        "headline": text["headline"],
        "themes": themes,
        "links": links,
        "read_first": [{"paper": ref, "why": text["why"]} for ref in refs[:2]],
    }


def briefing_reply(content: dict[str, Any] | str, **usage: Any) -> Reply:
    """200 with `content` (an object, or raw text) as the message."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return Reply(body=completion(text, **usage))


def briefing_default(captured: Captured) -> Reply:
    """A valid briefing of the request's papers in its language; a card for card requests."""
    if not is_briefing(captured):
        try:
            title = str(captured.paper.get("title", ""))
        except (StopIteration, IndexError, ValueError):
            title = ""
        return card_reply(valid_card(title))
    data = request_data(captured)
    return briefing_reply(valid_briefing(data["papers"], request_language(captured)))


def briefing_requests(fake: FakeLLM) -> list[Captured]:
    """The briefing requests the server received."""
    return [r for r in fake.requests if is_briefing(r)]


def refs_in(value: Any) -> set[str]:
    """Every ref ("P12") anywhere in a JSON-like value."""
    return set(re.findall(r"\bP\d+\b", json.dumps(value)))


# --- People, radars, papers ------------------------------------------------------------------


def answering_briefings(fake: FakeLLM) -> FakeLLM:
    """`fake` answering briefings (and cards); test modules wrap it in a `briefing_llm`
    fixture over tests/digests/conftest.py's `llm_settings` and `fake_llm`."""
    fake.default = briefing_default
    return fake


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
