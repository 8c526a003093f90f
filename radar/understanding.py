"""A radar's description as an English search profile ("understood as …"): its shape, which
description it was made for, and the cleaning every profile goes through, whoever wrote it.

The LLM writes the profile (`digests.understanding`, one call per new description, shared by
radars with the same description); the owner may edit it, and then it is theirs ("you")
until the description changes. Scoring reads it through `understood_for`, which returns a
profile only when it still describes the radar.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings

if TYPE_CHECKING:
    from radar.models import Radar

__all__ = [
    "KEYWORDS_MAX",
    "KEYWORDS_MIN",
    "KEYWORD_CAP",
    "GIVE_UP_ATTEMPTS",
    "TEXT_CAP",
    "Understood",
    "UnderstoodState",
    "description_digest",
    "is_latin",
    "keywords_clean",
    "llm_writes_profiles",
    "plain_text",
    "text_clean",
    "understood_by_you",
    "understood_for",
    "understood_parse",
    "understood_state",
]

# The paraphrase is one to three sentences; longer text is cut at a sentence or word.
TEXT_CAP = 600
# 3–12 phrases, each a short English phrase (longer ones are dropped, not cut).
KEYWORDS_MIN = 3
KEYWORDS_MAX = 12
KEYWORD_CAP = 60
KEYWORD_WORDS_MAX = 6
# Failed LLM attempts for one description before nobody asks again (until it changes).
GIVE_UP_ATTEMPTS = 5

By = Literal["llm", "you"]

_TAG = re.compile(r"<[^>]*>?")
# Control characters (tab and newline become spaces first), bidi overrides, zero-width marks.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_URL = re.compile(r"\b(?:https?|ftp|file|javascript|data):\S*|\bwww\.\S+", re.I)
_MARKDOWN = re.compile(r"\*\*|__|`+|^\s*#{1,6}\s+", re.M)
# Letters of a script other than Latin (Han, kana, Hangul, Cyrillic, Greek words, Arabic…).
_NON_LATIN_LETTER = re.compile(r"[^\W\d_a-zA-Z\u00c0-\u024f]")


def description_digest(text: str) -> str:
    """sha256 (hex) of a description with its whitespace folded: what a profile was made for."""
    return hashlib.sha256(" ".join((text or "").split()).encode()).hexdigest()


def plain_text(value: str) -> str:
    """`value` as one line of plain text: no tags, URLs, Markdown or control characters."""
    text = _UNSAFE.sub("", str(value or "").replace("\t", " ").replace("\n", " "))
    text = _TAG.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _MARKDOWN.sub("", text)
    return " ".join(text.split())


def is_latin(text: str) -> bool:
    """Whether every letter of `text` is Latin (English words, accents, digits, symbols)."""
    return bool(text) and not _NON_LATIN_LETTER.search(text)


def keywords_clean(values: list[str] | tuple[str, ...]) -> list[str]:
    """The usable keywords: plain text, Latin script, short, without repeats, at most 12;
    anything else is dropped rather than failing the whole profile."""
    kept: list[str] = []
    seen: set[str] = set()
    for value in values:
        keyword = plain_text(value).strip(" ,;.\"'")
        if (
            not keyword
            or len(keyword) > KEYWORD_CAP
            or len(keyword.split()) > KEYWORD_WORDS_MAX
            or not is_latin(keyword)
            or keyword.casefold() in seen
        ):
            continue
        seen.add(keyword.casefold())
        kept.append(keyword)
        if len(kept) == KEYWORDS_MAX:
            break
    return kept


def text_clean(value: str) -> str:
    """The paraphrase as plain text, cut at a sentence (or a word) to TEXT_CAP."""
    text = plain_text(value)
    if len(text) <= TEXT_CAP:
        return text
    cut = text[:TEXT_CAP]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if end >= TEXT_CAP // 3:
        return cut[: end + 1]
    return cut.rsplit(" ", 1)[0].rstrip(",;:") + "…"


@dataclass(frozen=True, slots=True)
class Understood:
    """An English search profile of a description."""

    text: str
    keywords: tuple[str, ...]
    by: By
    # description_digest of the description it was made from.
    digest: str
    model: str = ""

    def as_json(self) -> dict[str, Any]:
        """The value stored in `Radar.understood`."""
        return {
            "text": self.text,
            "keywords": list(self.keywords),
            "by": self.by,
            "for": self.digest,
            "model": self.model,
        }


def understood_parse(value: Any) -> Understood | None:
    """The profile stored in `Radar.understood`, or None when there is none (or it is not one)."""
    if not isinstance(value, dict):
        return None
    text = value.get("text")
    keywords = value.get("keywords")
    by = value.get("by")
    digest = value.get("for")
    if not isinstance(text, str) or not isinstance(keywords, list) or by not in ("llm", "you"):
        return None
    if not text.strip() and not keywords:
        return None
    return Understood(
        text=text,
        keywords=tuple(str(k) for k in keywords),
        by=by,
        digest=str(digest or ""),
        model=str(value.get("model") or ""),
    )


def understood_for(radar: Radar) -> Understood | None:
    """The radar's English profile if it describes the radar now: the owner's own, or one
    made for the current description; None otherwise (none yet, or made for an older one)."""
    understood = understood_parse(radar.understood)
    if understood is None:
        return None
    if understood.by == "you" or understood.digest == description_digest(radar.description):
        return understood
    return None


def llm_writes_profiles() -> bool:
    """Whether an LLM is configured to write profiles: `digests.llm.llm_configured`'s test,
    repeated because radar cannot import digests."""
    return bool(settings.LLM_BASE_URL or settings.LLM_API_KEY)


@dataclass(frozen=True, slots=True)
class UnderstoodState:
    """What the radar's page says about its profile: the profile, or why there is none yet
    ("pending", "waiting" for tomorrow's budget, "failed" for good), or "none"."""

    profile: Understood | None
    status: Literal["shown", "pending", "waiting", "failed", "none"]


def understood_state(radar: Radar) -> UnderstoodState:
    """The radar's profile as its page shows it; "none" (nothing said) without an LLM."""
    profile = understood_for(radar)
    if profile is not None:
        return UnderstoodState(profile, "shown")
    if not llm_writes_profiles() or not radar.description.strip():
        return UnderstoodState(None, "none")
    if radar.understood_error.startswith("budget"):
        return UnderstoodState(None, "waiting")
    if radar.understood_attempts >= GIVE_UP_ATTEMPTS:
        return UnderstoodState(None, "failed")
    return UnderstoodState(None, "pending")


def understood_by_you(text: str, keywords: list[str], description: str) -> dict[str, Any]:
    """The stored value of a profile the owner wrote (cleaned like the LLM's), or {} if empty."""
    clean_text = text_clean(text)
    clean_keywords = keywords_clean(keywords)
    if not clean_text and not clean_keywords:
        return {}
    return Understood(
        text=clean_text,
        keywords=tuple(clean_keywords),
        by="you",
        digest=description_digest(description),
    ).as_json()
