"""Briefing answers for the local OpenAI-compatible server (testkit/fake_llm.py).

`briefing_default` answers a briefing request with a valid briefing of exactly the papers in
its <briefing_data> block, in the language the prompt asks for, citing them by their refs;
anything else gets the server's own default (a card).
"""

from __future__ import annotations

import json
import re
from typing import Any

from testkit.fake_llm import Captured, FakeLLM, Reply, card_reply, completion, valid_card

EN: dict[str, Any] = {
    "headline": "Sparse attention methods cut the memory of long-document models this week.",
    "title": "Sparse attention for long inputs",
    "synthesis": "These papers keep a few global tokens and attend locally, and they report "
    "that the memory of long-document models falls by about a third.",
    "insight": "The memory savings of sparse attention in language models are what genome "
    "models need to read long sequences.",
    "why": "It is the clearest account of the method and its limits.",
    "fields": ["Computer Science", "Biology"],
}
ZH: dict[str, Any] = {
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


def answering_briefings(fake: FakeLLM) -> FakeLLM:
    """`fake` answering briefings (and cards); tests/digests/conftest.py wraps it in the
    `briefing_llm` fixture, bench/briefings.py uses it as it is."""
    fake.default = briefing_default
    return fake
