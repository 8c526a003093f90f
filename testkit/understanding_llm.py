"""Search-profile answers for the local OpenAI-compatible server (testkit/fake_llm.py).

`answering_understanding(fake, answers)` makes the server answer every understanding request
(the one with an <interest_data> block, `digests/prompts/understanding_v1.md`) with the
profile `answers` gives for its description, and every other request as before (cards,
briefings). `answers` is a dict from description to answer, or a function of the
description; an answer is a profile dict ({"text": …, "keywords": […]}), raw text (to test
malformed replies), a `Reply`, or None for `valid_profile(description)`.

    fake = answering_understanding(FakeLLM().start(), {"大语言模型的提示注入攻击": {
        "text": "Prompt injection attacks on large language models.",
        "keywords": ["prompt injection", "large language model", "jailbreak"]}})
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from testkit.fake_llm import Captured, FakeLLM, Reply, completion

Answer = dict[str, Any] | str | Reply | None
Answers = Mapping[str, Answer] | Callable[[str], Answer]

GENERIC = {
    "text": "Research papers on the methods, findings and applications of this research "
    "interest, in the terms the field uses.",
    "keywords": ["research methods", "empirical results", "applications"],
}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]{2,}")
_STOP = frozenset(
    ["the", "and", "for", "with", "that", "this", "from", "into", "about", "which", "their",
     "what", "how", "are", "was", "were", "papers", "paper", "work", "research", "interest"]
)  # fmt: skip


def is_understanding(captured: Captured) -> bool:
    """Whether the request asks for a search profile (rather than a card or a briefing)."""
    return any("<interest_data>" in str(m.get("content", "")) for m in captured.messages)


def request_description(captured: Captured) -> str:
    """The description in the <interest_data> block of a request's first user message."""
    user = next(m["content"] for m in captured.messages if m["role"] == "user")
    block = user.split("<interest_data>", 1)[1].split("</interest_data>", 1)[0]
    return str(json.loads(block)["description"])


def valid_profile(description: str) -> dict[str, Any]:
    """A profile that passes validation: the English words of the description as keywords
    (up to 8), else a generic English profile."""
    words = [w for w in _WORD.findall(description) if w.lower() not in _STOP]
    keywords = list(dict.fromkeys(w.lower() for w in words))[:8]
    if len(keywords) < 3:
        return dict(GENERIC)
    return {
        "text": "Papers on " + ", ".join(keywords[:4]) + " and the methods used to study them.",
        "keywords": keywords,
    }


def understanding_reply(content: dict[str, Any] | str, **usage: Any) -> Reply:
    """200 with `content` (a profile, or raw text) as the message."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return Reply(body=completion(text, **usage))


def understanding_responder(
    answers: Answers | None = None, fallback: Callable[[Captured], Reply] | None = None
) -> Callable[[Captured], Reply]:
    """A `FakeLLM.default`: profiles from `answers` for understanding requests, `fallback`
    (e.g. the server's previous default) for the others."""

    def respond(captured: Captured) -> Reply:
        if not is_understanding(captured):
            if fallback is None:
                return understanding_reply("{}")
            return fallback(captured)
        description = request_description(captured)
        if answers is None:
            answer: Answer = None
        elif callable(answers):
            answer = answers(description)
        else:
            answer = answers.get(description)
        if isinstance(answer, Reply):
            return answer
        return understanding_reply(answer if answer is not None else valid_profile(description))

    return respond


def understanding_requests(fake: FakeLLM) -> list[Captured]:
    """The understanding requests the server received."""
    return [r for r in fake.requests if is_understanding(r)]


def answering_understanding(fake: FakeLLM, answers: Answers | None = None) -> FakeLLM:
    """`fake` answering understanding requests from `answers` (and the rest as before)."""
    fake.default = understanding_responder(answers, fallback=fake.default)
    return fake
