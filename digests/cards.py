"""Bilingual TL;DR cards: one LLM call per paper text for both languages, validated by code.

A card is keyed by (paper, text hash, prompt version, model): re-ingesting a paper, or a new
version with the same title and abstract, finds its card and calls nobody; a changed abstract
has a new text hash and gets a new card. Without an LLM configured, an extractive card is
made from the abstract's own sentences and labelled as such; it is replaced once an LLM is
configured (the beat sweep and `manage.py cards` find papers without a card of the current
prompt and model).

The paper reaches the model as JSON inside a delimited block the system prompt calls
untrusted data (with `<` and `>` escaped, so the text cannot close the block). The answer is
checked by code: the schema (pydantic), Chinese fields in Chinese and English fields in
English (by script, so terse or headline-style English passes; a Chinese title may be the
title itself when that is only a name); URLs, images, HTML, Markdown and role tags are
stripped, a field over its length cap is trimmed at a sentence or word boundary, an
over-long keyword is dropped (all flagged, for staff). Only a missing, empty or
wrong-language field fails an answer (or one that ran away, far past its cap). A bad answer
gets one repair call naming the problem; a second bad answer makes the card `failed` with
the reason, retried later with capped exponential backoff.
Nothing a model wrote is ever shown unless it passed.

Which papers get cards is counted back from the newest data, not from today: each source's
newest announced day (`window`), so the bundled samples and a backfilled day get theirs.
Every paper of the latest days gets an extractive card at its ingest (cheap and local): the
card itself without an LLM, a stand-in with one (`stand_ins_due`), which the LLM's card
outranks once made (`digests.selectors.cards_for_papers`). With an LLM, matched papers come
first, then the latest days' other papers as the budget allows (`fill_allowance`), asked for
at their ingest (`cards_fill`) and by the sweep (`cards_due`), in the front page's order
(`in_front_order`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone, translation
from pydantic import BaseModel, ConfigDict

from digests import llm
from digests.models import SECTIONS, Card
from feeds.labels import display_text, source_label, whole_words
from feeds.models import Paper, PaperSighting
from feeds.selectors import ANNOUNCE_RANK, news_horizon
from radar.models import Match

logger = logging.getLogger(__name__)

PROMPT_VERSION = "card-v1"
EXTRACTIVE_VERSION = "extractive-v2"
EXTRACTIVE_MODEL = "extractive"

# Completion cap: two languages x five short sections fit in well under this.
CARD_MAX_TOKENS = 1600
# Input cap (OWASP LLM10): abstracts longer than this are cut before they are sent.
MAX_ABSTRACT_CHARS = 6000
# Length caps of the validated card, in characters (the prompt asks for much less): a longer
# field is trimmed to its cap; one more than RUNAWAY times its cap fails (a model repeating
# itself). Keywords past KEYWORDS_MAX, and any over KEYWORD_CAP, are dropped.
EN_CAPS = {"tldr": 400, "other": 900}
ZH_CAPS = {"tldr": 200, "other": 450}
TITLE_ZH_CAP = 300
KEYWORDS_MAX = 10
KEYWORD_CAP = 80
RUNAWAY = 4
# How much of a rejected answer goes back to the model in the repair request.
REPAIR_ECHO_CHARS = 4000

# Retries of a failed card: 5 min, 10 min, 20 min … capped at 12 h; after MAX_ATTEMPTS the
# card waits for staff ("retry now" in the admin).
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=12)
MAX_ATTEMPTS = 8
# The claim a worker holds on a card while it asks the LLM (two calls, each under the
# timeout, plus margin); a worker that died loses it after this.
CLAIM = timedelta(minutes=5)
# Which papers get cards, in days counted back from each source's newest announced day
# (`window`): matched papers (every paper when LLM_SUMMARIZE is "all") of the last
# DUE_WINDOW_DAYS; every paper of the last LATEST_DAYS (the front page's), extractive at
# once (with an LLM as a stand-in), and with an LLM after the matched papers while the fill
# may spend (FILL_SHARE of the daily budget, the rest kept for matched papers and briefings).
DUE_WINDOW_DAYS = 30
LATEST_DAYS = 3
FILL_SHARE = 0.5
# What one card is planned to cost (the prompt with the abstract, and the answer in both
# languages; measured cards take about 2,000), to count the fill against the budget.
CARD_TOKENS_PLANNED = 3000


class PaperTextHash(Func):
    """SQL twin of `text_hash`: sha256 of title, a newline, abstract (hex)."""

    template = "encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')"
    arg_joiner = " || chr(10) || "
    output_field = CharField()

    def __init__(self, prefix: str = "", **extra: Any) -> None:
        super().__init__(F(f"{prefix}title"), F(f"{prefix}abstract"), **extra)


def text_hash(title: str, abstract: str) -> str:
    """What a card is keyed by: the text the model sees, not the paper's other metadata."""
    return hashlib.sha256(f"{title}\n{abstract}".encode()).hexdigest()


def current_key() -> tuple[str, str]:
    """(prompt version, model) of the cards made now: the LLM's, or the extractive ones."""
    if llm.llm_configured():
        return PROMPT_VERSION, settings.LLM_MODEL
    return EXTRACTIVE_VERSION, EXTRACTIVE_MODEL


# --- The prompt ------------------------------------------------------------------------------


def _text(cap: int, what: str, *, max_length: bool) -> dict[str, Any]:
    """A string field whose cap is stated in its description, and as maxLength if asked."""
    schema: dict[str, Any] = {"type": "string", "description": f"{what}, at most {cap} characters"}
    if max_length:
        schema["maxLength"] = cap
    return schema


def _part_schema(caps: dict[str, int], language: str, *, max_length: bool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            name: _text(
                caps["tldr"] if name == "tldr" else caps["other"],
                f"{name} in {language}",
                max_length=max_length,
            )
            for name in SECTIONS
        },
        "required": list(SECTIONS),
        "additionalProperties": False,
    }


def card_schema(*, max_length: bool = False, max_items: bool = True) -> dict[str, Any]:
    """The card's JSON Schema, stating the caps `card_parse` trims to: in each description,
    as `maxLength` when asked, and the keywords' `maxItems` unless asked not to."""
    keywords: dict[str, Any] = {
        "type": "array",
        "items": _text(KEYWORD_CAP, "an English keyword", max_length=max_length),
        "description": f"at most {KEYWORDS_MAX} English keywords",
    }
    if max_items:
        keywords["maxItems"] = KEYWORDS_MAX
    return {
        "type": "object",
        "properties": {
            "title_zh": _text(
                TITLE_ZH_CAP, "the title in Simplified Chinese", max_length=max_length
            ),
            "en": _part_schema(EN_CAPS, "English", max_length=max_length),
            "zh": _part_schema(ZH_CAPS, "Simplified Chinese", max_length=max_length),
            "keywords": keywords,
        },
        "required": ["title_zh", "en", "zh", "keywords"],
        "additionalProperties": False,
    }


# The schema an endpoint enforces (LLM_JSON_MODE json_schema, strict): OpenAI's strict subset
# has maxItems but not maxLength, so string caps are stated in the descriptions only.
CARD_SCHEMA = card_schema()
# The schema written into the prompt (json_object mode): read by the model, checked by nobody.
CARD_SCHEMA_IN_PROMPT = card_schema(max_length=True)


def schema_sent() -> dict[str, Any]:
    """The schema sent as the response format: fine-tuned OpenAI models ("ft:…") refuse
    `maxItems` in strict mode, so theirs goes without it."""
    if settings.LLM_MODEL.startswith("ft:"):
        return card_schema(max_items=False)
    return CARD_SCHEMA


def paper_data(paper: Paper) -> dict[str, Any]:
    """What the model is told about a paper: its text and where it appeared, nothing else."""
    # The source in English whatever the caller's language: the prompt must not depend on
    # which reader's request queued the card.
    with translation.override("en"):
        source = source_label(paper)
    return {
        "title": display_text(paper.title),
        "abstract": display_text(paper.abstract)[:MAX_ABSTRACT_CHARS],
        "source": source,
        "categories": list(paper.categories[:8]),
    }


def card_messages(paper: Paper) -> list[dict[str, str]]:
    """The chat messages for one paper (`sightings` prefetched with their sources)."""
    prompt = llm.prompt_parts(PROMPT_VERSION)
    schema_note = ""
    if settings.LLM_JSON_MODE != "json_schema":
        schema_note = "\nThe JSON object must follow this JSON Schema:\n" + json.dumps(
            CARD_SCHEMA_IN_PROMPT
        )
    # Escaped angle brackets: the paper's text can neither close the block nor open a tag.
    data = json.dumps(paper_data(paper), ensure_ascii=False, indent=1)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e")
    return [
        {"role": "system", "content": prompt["system"].replace("{{schema}}", schema_note)},
        {"role": "user", "content": prompt["user"].replace("{{data}}", data)},
    ]


# --- Validation ------------------------------------------------------------------------------


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    tldr: str
    motivation: str
    method: str
    result: str
    conclusion: str


class _CardOut(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title_zh: str
    en: _Part
    zh: _Part
    keywords: list[str]


@dataclass(slots=True)
class CardContent:
    """A validated card, ready to store."""

    title_zh: str
    en: dict[str, str]
    zh: dict[str, str]
    keywords: list[str]
    flags: set[str] = field(default_factory=set)


_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.S)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Han, kana and Hangul: a character of these carries about as much as a short Latin word.
_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
WIDE_WEIGHT = 3
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# What separates the words of a title (`name_only`).
_TITLE_BREAK = re.compile(r"[\s\-\u2010-\u2015/:;,.!?()\[\]{}\"'“”‘’]+")
# What a card may never carry, and the flag recorded when it was removed.
_STRIP_ANYWHERE: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), "", "image"),
    (re.compile(r"<!--.*?-->", re.S), "", "html"),
    (re.compile(r"<\|[^|<>]{0,40}\|>"), "", "role_tag"),
    (
        re.compile(r"</?(?:img|script|iframe|svg|a|object|embed|link|meta|style)\b[^>]*>?", re.I),
        "",
        "html",
    ),  # fmt: skip
    (re.compile(r"\b(?:https?|ftp|file|javascript|data):[^\s)\]}>\"']*", re.I), "", "url"),
    (re.compile(r"\bwww\.[^\s)\]}>\"']+", re.I), "", "url"),
    (re.compile(r"[A-Za-z0-9+/]{48,}={0,2}"), "", "encoded"),
]
_STRIP_OUTSIDE_MATH: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1", "link"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>"), "", "html"),
    (re.compile(r"\[/?(?:SYSTEM|INST|USER|ASSISTANT)\]", re.I), "", "role_tag"),
    (re.compile(r"\*\*|__|`+"), "", "markdown"),
    (re.compile(r"^\s*#{1,6}\s+", re.M), "", "markdown"),
]


def _clean(text: str, flags: set[str]) -> str:
    """`text` without URLs, images, HTML, Markdown or role tags (TeX kept), whitespace folded."""
    text = display_text(text)
    for pattern, repl, flag in _STRIP_ANYWHERE:
        text, count = pattern.subn(repl, text)
        if count:
            flags.add(flag)
    pieces: list[str] = []
    last = 0
    for math in _MATH.finditer(text):
        pieces.append(_clean_prose(text[last : math.start()], flags))
        pieces.append(math.group(0))
        last = math.end()
    pieces.append(_clean_prose(text[last:], flags))
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


def _clean_prose(text: str, flags: set[str]) -> str:
    for pattern, repl, flag in _STRIP_OUTSIDE_MATH:
        text, count = pattern.subn(repl, text)
        if count:
            flags.add(flag)
    return text


def _counts(text: str) -> tuple[int, list[str]]:
    prose = _MATH.sub(" ", text)
    return len(_CJK.findall(prose)), _LATIN_WORD.findall(prose)


def is_chinese(text: str, *, minimum: int = 4) -> bool:
    """Mostly Chinese: enough Han characters, and English words a minority (terms only)."""
    cjk, words = _counts(text)
    return cjk >= minimum and cjk >= 0.5 * len(words)


def _letters(text: str) -> tuple[int, int]:
    """(Latin letters, other letters) of `text` outside TeX. Other letters are weighted: a
    Han, kana or Hangul character as WIDE_WEIGHT letters, about a short word's worth. Greek
    letters count as neither: science writes them as symbols (α-helix, β decay)."""
    latin = other = 0
    for char in _MATH.sub(" ", text):
        if not char.isalpha():
            continue
        if char <= "\u024f" or "\u1e00" <= char <= "\u1eff":  # Latin, accented ones too
            latin += 1
        elif not "\u0370" <= char <= "\u03ff":
            other += WIDE_WEIGHT if _WIDE.match(char) else 1
    return latin, other


def is_english(text: str) -> bool:
    """Written in English rather than in another script: Latin letters, not outweighed by
    Chinese (or Cyrillic, Japanese …). Terse or headline-style English ("SnapMem: snapshot
    memory boosts embodied exploration") is English; so is a Chinese term inside English
    prose. Latin-script languages other than English are not told apart."""
    latin, other = _letters(text)
    return latin > 0 and other < latin


def name_only(title: str) -> bool:
    """Whether a title has nothing to translate: one word ("Mamba"), or names, acronyms and
    numbers only ("AlphaFold 3", "GPT-4o", "BERT"), each word with a digit or a capital
    after its first letter. Its Chinese title may then be the title itself."""
    words = [w for w in _TITLE_BREAK.split(_MATH.sub(" ", display_text(title))) if w]
    if len(words) == 1:
        return True
    return bool(words) and all(_name_like(word) for word in words)


def _name_like(word: str) -> bool:
    return (
        any(c.isdigit() for c in word)
        or any(c.isupper() for c in word[1:])
        or not any(c.isalpha() for c in word)
    )


def trim(text: str, cap: int, *, chinese: bool) -> str:
    """`text` in at most `cap` characters: the whole sentences that fit, else cut at a word
    boundary (in Chinese, at a clause mark or between characters) with "…"; never inside TeX."""
    if len(text) <= cap:
        return text
    kept = ""
    for sentence in _sentences(text, chinese):
        longer = f"{kept}{'' if chinese else ' '}{sentence}" if kept else sentence
        if len(longer) > cap:
            break
        kept = longer
    if kept:
        return kept
    end = cap - 1  # room for the ellipsis
    for math in _MATH.finditer(text):
        if math.start() < end < math.end():
            end = math.start()
    head = text[:end]
    if chinese:
        clause = max(head.rfind(mark) for mark in "，；、：,;")
        if clause >= end // 2:
            head = head[:clause]
        elif re.match(r"\w\w", text[end - 1 : end + 1], re.A):
            head = re.sub(r"\w+$", "", head, flags=re.A)  # an English term inside: not cut
    elif not text[end].isspace() and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:，；、：-–—") + "…"


def card_parse(completion: llm.Completion, *, title: str = "") -> CardContent:
    """The validated card in a completion for a paper titled `title`; raises LLMBadOutput
    naming the first problems.

    Cosmetic excess is repaired, not failed: a field over its cap is trimmed, keywords over
    their cap or count are dropped, and each is recorded in the card's flags. Only a missing,
    empty or wrong-language field fails: English fields in another script, Chinese fields
    without Chinese (the Chinese title may be the title itself when that is only a name:
    `name_only`)."""
    parsed = llm.answer_parse(completion, _CardOut, "card")
    flags: set[str] = set()
    problems: list[str] = []

    def fit(where: str, text: str, cap: int, *, chinese: bool) -> str:
        if len(text) > RUNAWAY * cap:
            problems.append(
                f"{where} is longer than {cap} characters ({len(text)}, a runaway answer)"
            )
        elif len(text) > cap:
            flags.add(f"trimmed:{where}")
            return trim(text, cap, chinese=chinese)
        return text

    title_zh = fit("title_zh", _clean(parsed.title_zh, flags), TITLE_ZH_CAP, chinese=True)
    if not title_zh:
        problems.append("title_zh is empty")
    elif not is_chinese(title_zh, minimum=2) and not (
        name_only(title) and _letters(title_zh)[1] == 0
    ):
        problems.append("title_zh is not in Chinese")
    parts: dict[str, dict[str, str]] = {}
    in_chinese = functools.partial(is_chinese, minimum=2)
    for language, caps, check in (("en", EN_CAPS, is_english), ("zh", ZH_CAPS, in_chinese)):
        parts[language] = {}
        for name in SECTIONS:
            where = f"{language}.{name}"
            cap = caps["tldr"] if name == "tldr" else caps["other"]
            raw = getattr(getattr(parsed, language), name)
            value = fit(where, _clean(raw, flags), cap, chinese=language == "zh")
            parts[language][name] = value
            if not value:
                problems.append(f"{where} is empty")
            elif not check(value):
                wanted = "English" if language == "en" else "Chinese"
                problems.append(f"{where} is not in {wanted}")
    keywords = [k for k in (_clean(k, flags) for k in parsed.keywords) if k]
    if any(len(k) > KEYWORD_CAP for k in keywords):
        flags.add("keyword_dropped")
        keywords = [k for k in keywords if len(k) <= KEYWORD_CAP]
    if len(keywords) > KEYWORDS_MAX:
        flags.add("keywords_cut")
        keywords = keywords[:KEYWORDS_MAX]
    if problems:
        raise llm.LLMBadOutput("; ".join(problems[:6]))
    return CardContent(
        title_zh=title_zh, en=parts["en"], zh=parts["zh"], keywords=keywords, flags=flags
    )


# --- Extractive cards (no LLM configured, or standing in for the LLM's) ------------------------

_EN_CUES = {
    "tldr": r"\b(we (propose|present|introduce|develop|show|find|report|study)|this (paper|work|study)|here we|in this (paper|work))\b",
    "method": r"\b(propose|present|introduce|develop|design|using|use|based on|approach|method|framework|model|algorithm)\b",
    "result": r"\b(shows?|demonstrates?|achieves?|outperforms?|improves?|results?|find|found|reveals?|significant(ly)?|accuracy|benchmarks?|matches|compared?|experiments?)\b|%",
}  # fmt: skip
_ZH_CUES = {
    "tldr": r"本文|我们提出|本研究|我们发现|本工作",
    "method": r"提出|方法|框架|模型|算法|采用|基于",
    "result": r"结果|表明|显示|优于|提高|显著|发现",
}
EXTRACT_CAP = 450


def _sentences(text: str, chinese: bool) -> list[str]:
    """Sentences of an abstract, never split inside TeX."""
    maths: list[str] = []

    def hide(match: re.Match[str]) -> str:
        maths.append(match.group(0))
        return f"\x00{len(maths) - 1}\x00"

    hidden = _MATH.sub(hide, text.strip())
    pattern = r"(?<=[。！？])\s*" if chinese else r"(?<=[.!?])\s+(?=[A-Z(\[\"'\x00])"
    parts = [p.strip() for p in re.split(pattern, hidden) if p.strip()]
    return [re.sub(r"\x00(\d+)\x00", lambda m: maths[int(m.group(1))], p) for p in parts]


def _shorten(sentence: str) -> str:
    if len(sentence) <= EXTRACT_CAP:
        return sentence
    cut = sentence[:EXTRACT_CAP].rsplit(" ", 1)[0]
    return cut + "…"


def card_extract(paper: Paper) -> CardContent:
    """An extractive card from the abstract's own sentences, in the abstract's language."""
    # A feed that cut the abstract mid-word (bioRxiv's sample) ends it at a whole word.
    abstract = whole_words(display_text(paper.abstract))
    chinese = is_chinese(abstract)
    sentences = _sentences(abstract, chinese) or [abstract]
    cues = _ZH_CUES if chinese else _EN_CUES
    used: set[int] = set()

    def pick(cue: str | None, fallback: int | None) -> str:
        for i, sentence in enumerate(sentences):
            if i not in used and cue and re.search(cue, sentence, flags=re.I):
                used.add(i)
                return _shorten(sentence)
        if fallback is not None:
            index = fallback % len(sentences)
            if index not in used:
                used.add(index)
                return _shorten(sentences[index])
        return ""

    part = {"tldr": pick(cues["tldr"], 0)}
    part["motivation"] = pick(None, 0)
    # Results first: their cues are the more specific ("the method improves…" is a result).
    part["result"] = pick(cues["result"], None)
    part["method"] = pick(cues["method"], None)
    part["conclusion"] = pick(None, -1)
    part = {name: part[name] for name in SECTIONS}
    empty = dict.fromkeys(SECTIONS, "")
    return CardContent(
        title_zh=display_text(paper.title) if is_chinese(paper.title, minimum=2) else "",
        en=empty if chinese else part,
        zh=part if chinese else empty,
        keywords=[],
    )


# --- Generating ------------------------------------------------------------------------------


def _ask(paper: Paper, usage: llm.Usage) -> CardContent:
    """The card of a paper from the LLM: one call, and one repair call if needed."""
    return llm.ask_validated(
        card_messages(paper),
        parse=functools.partial(card_parse, title=paper.title),
        prompt_version=PROMPT_VERSION,
        echo_chars=REPAIR_ECHO_CHARS,
        usage=usage,
        schema=schema_sent(),
        schema_name="paper_card",
        max_tokens=CARD_MAX_TOKENS,
        purpose="card",
        subject=f"paper:{paper.pk}",
    )


def card_generate(card: Card, paper: Paper) -> str:
    """Make one claimed-if-due card; returns what happened (done, extractive, failed, pending,
    skipped). Raises BudgetExhausted (after deferring the card) when today's budget is spent."""
    due = Card.objects.filter(
        id=card.pk, status__in=[Card.Status.PENDING, Card.Status.FAILED], attempts__lt=MAX_ATTEMPTS
    )
    now = timezone.now()
    if card.model == EXTRACTIVE_MODEL:
        # Made before it is claimed, then claimed and stored in one conditional UPDATE: no
        # claim is ever left held (a database that goes away between a claim and its store
        # would keep a retry off the card until the claim expires).
        content = card_extract(paper)
        stored = llm.job_free(due, now=now).update(
            status=Card.Status.EXTRACTIVE, title_zh=content.title_zh, en=content.en,
            zh=content.zh, keywords=content.keywords, last_error="", next_attempt_at=None,
            generated_at=now, claimed_until=None, updated_at=now,
        )  # fmt: skip
        return "extractive" if stored == 1 else "skipped"
    if not llm.job_claim(due, now=now, hold=CLAIM):
        return "skipped"
    card.refresh_from_db(fields=["attempts"])
    usage = llm.Usage()
    try:
        content = _ask(paper, usage)
    except llm.BudgetExhausted as exc:
        llm.job_store(Card, card.pk, next_attempt_at=exc.resets_at,
                      last_error=f"{exc.kind}: {exc}", **_tokens(usage))  # fmt: skip
        raise
    except llm.LLMError as exc:
        attempts = card.attempts + 1
        wait = llm.retry_delay(attempts, base=BACKOFF_BASE, cap=BACKOFF_CAP)
        if isinstance(exc, llm.LLMRateLimited) and exc.retry_after:
            wait = max(wait, timedelta(seconds=exc.retry_after))
        gave_up = attempts >= MAX_ATTEMPTS
        # Busy or unreachable endpoints leave the card pending ("summary pending"); answers
        # that never validated, refused requests and exhausted retries make it failed.
        failed = gave_up or not exc.transient
        llm.job_store(
            Card,
            card.pk,
            status=Card.Status.FAILED if failed else Card.Status.PENDING,
            attempts=attempts,
            next_attempt_at=None if gave_up else now + wait,
            last_error=f"{exc.kind}: {exc}"[:2000],
            **_tokens(usage),
        )
        logger.info("card %s for paper %s: %s: %s", card.pk, paper.pk, exc.kind, exc)
        return "failed" if failed else "pending"
    llm.job_store(
        Card,
        card.pk,
        status=Card.Status.DONE,
        title_zh=content.title_zh,
        en=content.en,
        zh=content.zh,
        keywords=content.keywords,
        flags=sorted(content.flags),
        attempts=card.attempts + 1,
        last_error="",
        next_attempt_at=None,
        generated_at=now,
        **_tokens(usage),
    )
    return "done"


def _tokens(usage: llm.Usage) -> dict[str, Any]:
    return {
        "llm_calls": F("llm_calls") + usage.calls,
        "prompt_tokens": F("prompt_tokens") + usage.prompt_tokens,
        "completion_tokens": F("completion_tokens") + usage.completion_tokens,
    }


EXTRACTIVE_KEY = (EXTRACTIVE_VERSION, EXTRACTIVE_MODEL)


def cards_ensure(papers: Iterable[Paper], *, key: tuple[str, str] | None = None) -> dict[int, Card]:
    """The card of each paper (with an abstract) of `key` (prompt version, model; the
    current one by default), created pending if missing."""
    prompt_version, model = key or current_key()
    wanted = {p.pk: text_hash(p.title, p.abstract) for p in papers if p.abstract.strip()}
    if not wanted:
        return {}
    Card.objects.bulk_create(
        [
            Card(paper_id=pid, text_hash=h, prompt_version=prompt_version, model=model)
            for pid, h in sorted(wanted.items())
        ],
        ignore_conflicts=True,
    )
    found = Card.objects.filter(
        paper_id__in=list(wanted),
        text_hash__in=set(wanted.values()),
        prompt_version=prompt_version,
        model=model,
    )
    return {c.paper_id: c for c in found if wanted.get(c.paper_id) == c.text_hash}


def _papers(paper_ids: Iterable[int]) -> list[Paper]:
    return list(
        Paper.objects.filter(id__in=set(paper_ids))
        .order_by("id")
        .prefetch_related("sightings__source")
    )


def cards_generate(
    paper_ids: Iterable[int], *, concurrency: int = 1, extractive: bool = False
) -> dict[str, int]:
    """Make the current cards of these papers (due ones only; done ones are left alone), in
    the order given; with `extractive`, their extractive cards whatever the LLM.

    With `concurrency` > 1 the LLM calls run in that many threads. When the budget runs out
    the remaining cards wait for the next UTC day. Returns counts by outcome.
    """
    order = {pid: n for n, pid in enumerate(dict.fromkeys(paper_ids))}
    papers = {p.pk: p for p in _papers(order)}
    cards = cards_ensure(papers.values(), key=EXTRACTIVE_KEY if extractive else None)
    counts = dict.fromkeys(
        ("papers", "done", "extractive", "failed", "pending", "skipped", "deferred"), 0
    )
    counts["papers"] = len(papers)
    todo = sorted(
        (c for c in cards.values() if c.status in (Card.Status.PENDING, Card.Status.FAILED)),
        key=lambda c: order[c.paper_id],
    )
    counts["skipped"] = len(cards) - len(todo)
    out_of_budget = threading.Event()
    resets_at: list[datetime] = []

    def one(card: Card) -> str:
        if out_of_budget.is_set():
            return "deferred"
        try:
            return card_generate(card, papers[card.paper_id])
        except llm.BudgetExhausted as exc:
            resets_at.append(exc.resets_at)
            out_of_budget.set()
            return "deferred"

    for outcome in _run(one, todo, concurrency):
        counts[outcome] = counts.get(outcome, 0) + 1
    if out_of_budget.is_set():
        # Nothing is lost: whatever this batch did not reach waits for tomorrow's budget.
        Card.objects.filter(
            id__in=[c.pk for c in todo], status__in=[Card.Status.PENDING, Card.Status.FAILED]
        ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=resets_at[0])).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now())
        ).update(next_attempt_at=resets_at[0], last_error="budget: today's token budget is spent")
    return counts


def _run(fn: Callable[[Card], str], cards: list[Card], concurrency: int) -> list[str]:
    if concurrency <= 1 or len(cards) <= 1:
        return [fn(card) for card in cards]

    def in_thread(card: Card) -> str:
        try:
            return fn(card)
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(in_thread, cards))


# --- Which papers get cards --------------------------------------------------------------


def sources_newest() -> dict[int | None, date]:
    """Each source's newest announced day (None: the newest of all papers, for papers no
    source carries any more), up to `news_horizon`."""
    horizon = news_horizon()
    rows = (
        PaperSighting.objects.filter(paper__announced__lte=horizon)
        .values("source_id")
        .annotate(newest=Max("paper__announced"))
        .order_by()
    )
    newest: dict[int | None, date] = {row["source_id"]: row["newest"] for row in rows}
    overall = Paper.objects.filter(announced__lte=horizon).aggregate(newest=Max("announced"))
    if overall["newest"] is not None:
        newest[None] = overall["newest"]
    return newest


def window(days: int, newest: dict[int | None, date]) -> Q:
    """Papers announced in the last `days` days of their source's news: counted back from
    the source's newest day (`sources_newest`), not from today, so the bundled samples, a
    backfilled day or a source that went quiet still count."""
    horizon = news_horizon()
    by_start: dict[date, list[int]] = defaultdict(list)
    for source_id, day in newest.items():
        if source_id is not None:
            by_start[day - timedelta(days=days - 1)].append(source_id)
    seen_by = PaperSighting.objects.filter(paper_id=OuterRef("pk"))
    condition = Q(pk__in=[])
    for start, source_ids in sorted(by_start.items()):
        condition |= Q(announced__range=(start, horizon)) & Q(
            Exists(seen_by.filter(source_id__in=source_ids))
        )
    if None in newest:
        start = newest[None] - timedelta(days=days - 1)
        condition |= Q(announced__range=(start, horizon)) & ~Q(Exists(seen_by))
    return condition


def _matched(paper: str = "pk") -> Exists:
    """Whether an active radar matched the paper (`paper`: the outer query's paper id)."""
    return Exists(Match.objects.filter(paper_id=OuterRef(paper), radar__active=True))


def _announce_rank(prefix: str = "") -> Case:
    """New papers, then cross-lists, then replacements (`feeds.selectors.ANNOUNCE_RANK`)."""
    return Case(
        *(
            When(**{f"{prefix}announce_type": kind}, then=Value(rank))
            for kind, rank in ANNOUNCE_RANK.items()
        ),
        default=Value(len(ANNOUNCE_RANK)),
        output_field=IntegerField(),
    )


def in_front_order(papers: QuerySet[Paper]) -> QuerySet[Paper]:
    """`papers` in the order the front page reads them (`feeds.front`): the newest day first;
    new papers, then cross-lists, then replacements; and among those each category's first
    paper in turn, then each one's second, and so on, as the page shows the first papers of
    every section. Card work taken in this order reaches the page's first cards first."""
    turn = Window(
        RowNumber(),
        partition_by=[F("announced"), _announce_rank(), F("primary_category")],
        order_by=F("id").asc(),
    )
    return papers.annotate(turn=turn).order_by("-announced", _announce_rank(), "turn", "id")


def _ids(papers: QuerySet[Paper], limit: int | None = None) -> list[int]:
    """The ids of `papers` in the front page's order, at most `limit` of them."""
    return list(in_front_order(papers).values_list("id", flat=True)[:limit])


def _wanted(papers: QuerySet[Paper]) -> QuerySet[Paper]:
    """Of `papers`, those that get a card now: by LLM_SUMMARIZE, matched ones (all with "all")
    of the last DUE_WINDOW_DAYS and, without an LLM, every paper of the latest days (an
    extractive card costs nothing but a moment of CPU; with an LLM they get extractive
    stand-ins, `stand_ins_due`, and LLM cards as the budget allows, `cards_fill`)."""
    mode = settings.LLM_SUMMARIZE
    if mode == "off":
        return papers.none()
    newest = sources_newest()
    if mode == "all":
        wanted = window(DUE_WINDOW_DAYS, newest)
    else:
        wanted = window(DUE_WINDOW_DAYS, newest) & Q(_matched())
        if not llm.llm_configured():
            wanted |= window(LATEST_DAYS, newest)
    return papers.exclude(abstract="").filter(wanted)


def papers_wanting_cards(paper_ids: Iterable[int]) -> list[int]:
    """Of these papers, those that get a card now (see `_wanted`), in the front page's order."""
    ids = sorted(set(paper_ids))
    if not ids:
        return []
    return _ids(_wanted(Paper.objects.filter(id__in=ids)))


def radar_papers_wanting_cards(radar_id: int) -> list[int]:
    """The papers a radar matches that get a card now (after it was saved and rescored)."""
    matches = Match.objects.filter(paper_id=OuterRef("pk"), radar_id=radar_id)
    return _ids(_wanted(Paper.objects.filter(Exists(matches))))


def cards_ask(paper_ids: Iterable[int]) -> list[int]:
    """Pending cards of the current prompt and model for these papers; returns, in the order
    given, the ids of those whose card is still to make (a done or extractive one is not
    asked for again). A pending card counts as asked for (`fill_allowance`)."""
    ids = list(dict.fromkeys(paper_ids))
    if not ids:
        return []
    found = cards_ensure(Paper.objects.filter(id__in=ids).only("id", "title", "abstract"))
    due = (Card.Status.PENDING, Card.Status.FAILED)
    return [pid for pid in ids if pid in found and found[pid].status in due]


def cards_request(paper_ids: Iterable[int]) -> list[int]:
    """Create pending cards for the papers that should get one (`papers_wanting_cards`);
    returns the ids of those whose card is still to make, in the front page's order."""
    return cards_ask(papers_wanting_cards(paper_ids))


def _retries(now: datetime) -> QuerySet[Card]:
    """Cards of the current prompt and model asked for and not made yet, due now: new ones
    (waiting in the queue, or whose hand-over was lost) and failures whose time has come,
    unclaimed, of their paper's current text."""
    prompt_version, model = current_key()
    return (
        Card.objects.filter(
            prompt_version=prompt_version,
            model=model,
            status__in=[Card.Status.PENDING, Card.Status.FAILED],
            attempts__lt=MAX_ATTEMPTS,
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .annotate(current=PaperTextHash("paper__"))
        .filter(text_hash=F("current"))
    )


def fill_allowance() -> int | None:
    """How many more cards of unmatched papers may be asked for now: None when nothing limits
    it (extractive cards, or no daily budget), else what FILL_SHARE of today's budget has
    left, in planned cards, less the unmatched papers' cards already asked for and not made
    yet (queued at an ingest or by the last sweep: their tokens are not spent yet)."""
    cap = int(settings.LLM_DAILY_TOKEN_BUDGET)
    if not llm.llm_configured() or cap <= 0:
        return None
    try:
        spent = llm.budget_spent()
    except redis.RedisError:
        # Nobody knows what was spent: nothing more now (an ingest's hand-over goes on
        # without it); the sweep asks once the counter is back.
        return 0
    left = (int(cap * FILL_SHARE) - spent) // CARD_TOKENS_PLANNED
    if left <= 0:
        return 0
    asked = _retries(timezone.now()).exclude(_matched("paper_id")).count()
    return max(0, left - asked)


def _missing(*, outdated: bool = False) -> QuerySet[Paper]:
    """Papers with an abstract and no card of the current prompt and model for their text
    (nor, unless `outdated`, a done card of another prompt or model)."""
    prompt_version, model = current_key()
    cards = Card.objects.filter(paper_id=OuterRef("pk"), text_hash=OuterRef("current"))
    missing = (
        Paper.objects.exclude(abstract="")
        .annotate(current=PaperTextHash())
        .exclude(Exists(cards.filter(prompt_version=prompt_version, model=model)))
    )
    if not outdated:
        missing = missing.exclude(Exists(cards.filter(status=Card.Status.DONE)))
    return missing


def _fill(missing: QuerySet[Paper], newest: dict[int | None, date], limit: int | None) -> list[int]:
    """Of `missing`, the unmatched papers of the latest days, at most `limit`, in the front
    page's order."""
    return _ids(missing.filter(window(LATEST_DAYS, newest)).exclude(_matched()), limit)


def cards_due(
    *, limit: int = 200, days: int = DUE_WINDOW_DAYS, outdated: bool = False
) -> list[int]:
    """Ids of papers whose current card is due, in this order: retries whose time has come
    (never tried ones first, matched ones first, as the front page reads them); papers LLM_SUMMARIZE wants
    (matched ones of the last `days` days) without a card of the current prompt and model
    for their text (new matches after a rescore, extractive cards once an LLM is configured);
    then the other papers of the latest days (all of them for extractive cards; with an LLM
    as many as `fill_allowance` says). Papers in the front page's order (`in_front_order`):
    newest day first, new papers before cross-lists before replacements.

    A paper with a done card of another prompt version or model is due only when `outdated`
    is asked for: a new prompt or model regenerates on demand, not by itself."""
    mode = settings.LLM_SUMMARIZE
    if mode == "off" or limit <= 0:
        return []
    retries = list(
        _retries(timezone.now())
        .order_by(
            F("next_attempt_at").asc(nulls_first=True),
            _matched("paper_id").desc(),
            "-paper__announced",
            _announce_rank("paper__"),
            "paper_id",
        )
        .values_list("paper_id", flat=True)[:limit]
    )
    rest = limit - len(retries)
    if rest <= 0:
        return retries
    missing = _missing(outdated=outdated).exclude(id__in=retries)
    newest = sources_newest()
    wanted = window(days, newest)
    if mode != "all":
        wanted &= Q(_matched())
    more = _ids(missing.filter(wanted), rest)
    fill = rest - len(more)
    if mode == "all" or fill <= 0:
        return retries + more
    allowance = fill_allowance()
    if allowance is not None:
        fill = min(fill, allowance)
    if fill <= 0:
        return retries + more
    return retries + more + _fill(missing, newest, fill)


def cards_fill(paper_ids: Iterable[int]) -> list[int]:
    """After an ingest, with an LLM and LLM_SUMMARIZE "matched": the LLM cards of the latest
    days' papers among these, asked for at once rather than at the next sweep, as many as
    `fill_allowance` allows, in the front page's order (matching asks for the matched ones).
    Creates their pending cards; returns their ids in that order."""
    ids = set(paper_ids)
    if settings.LLM_SUMMARIZE != "matched" or not llm.llm_configured() or not ids:
        return []
    allowance = fill_allowance()
    if allowance == 0:
        return []
    return cards_ask(_fill(_missing().filter(id__in=ids), sources_newest(), allowance))


def stand_ins_due(paper_ids: Iterable[int] | None = None, *, limit: int | None = None) -> list[int]:
    """Papers of the latest days (of `paper_ids`, or all) with an abstract and no card to read
    for their text (neither an LLM's nor an extractive one), in the front page's order.

    They get an extractive card at once, whether or not an LLM is configured, so the front
    page shows summaries from the first minute; an LLM's card, once made, is shown instead
    (`digests.selectors.cards_for_papers` ranks it first)."""
    if settings.LLM_SUMMARIZE == "off":
        return []
    papers = Paper.objects.exclude(abstract="")
    if paper_ids is not None:
        papers = papers.filter(id__in=set(paper_ids))
    readable = Card.objects.filter(
        paper_id=OuterRef("pk"),
        text_hash=OuterRef("current"),
        status__in=[Card.Status.DONE, Card.Status.EXTRACTIVE],
    )
    unread = (
        papers.annotate(current=PaperTextHash())
        .exclude(Exists(readable))
        .filter(window(LATEST_DAYS, sources_newest()))
    )
    return _ids(unread, limit)


def cards_stand_in(paper_ids: Iterable[int]) -> dict[str, int]:
    """Extractive cards for those of these papers `stand_ins_due` names (a few milliseconds
    each); returns counts by outcome."""
    return cards_generate(stand_ins_due(paper_ids), extractive=True)


def cards_retry_now(card_ids: Iterable[int]) -> list[int]:
    """Make these cards due at once with a fresh attempt count (staff); returns paper ids."""
    cards = Card.objects.filter(id__in=list(card_ids)).exclude(
        status__in=[Card.Status.DONE, Card.Status.EXTRACTIVE]
    )
    paper_ids = list(cards.values_list("paper_id", flat=True))
    cards.update(
        status=Card.Status.PENDING,
        attempts=0,
        next_attempt_at=None,
        claimed_until=None,
        updated_at=timezone.now(),
    )
    return paper_ids
