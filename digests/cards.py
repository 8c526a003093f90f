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
English; URLs, images, HTML, Markdown and role tags are stripped, a field over its length cap
is trimmed at a sentence or word boundary, an over-long keyword is dropped (all flagged, for
staff). Only a missing, empty or wrong-language field fails an answer (or one that ran away,
far past its cap). A bad answer gets one repair call naming the problem; a second bad answer
makes the card `failed` with the reason, retried later with capped exponential backoff.
Nothing a model wrote is ever shown unless it passed.

Which papers get cards is counted back from the newest data, not from today: each source's
newest announced day (`window`), so the bundled samples and a backfilled day get theirs.
Without an LLM every paper of the latest days gets an extractive card (cheap and local); with
one, matched papers come first, then the latest days' other papers as the budget allows.
"""

from __future__ import annotations

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
)
from django.utils import timezone, translation
from pydantic import BaseModel, ConfigDict

from digests import llm
from digests.models import SECTIONS, Card
from feeds.labels import display_text, source_label, whole_words
from feeds.models import Paper, PaperSighting
from feeds.selectors import news_horizon
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
# once without an LLM, and with one after the matched papers while the fill may spend
# (FILL_SHARE of the daily budget, the rest kept for matched papers and briefings).
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
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_EN_COMMON = frozenset(
    ["the", "a", "an", "of", "and", "to", "in", "is", "are", "was", "were", "we", "our", "for",
     "with", "on", "by", "this", "that", "from", "as", "be", "which", "it", "its", "at", "or",
     "not", "can", "using", "than"]
)  # fmt: skip
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


def is_english(text: str) -> bool:
    """Latin-script English: no run of Chinese, and some common English words in prose."""
    cjk, words = _counts(text)
    if cjk > max(2, sum(len(w) for w in words) // 50):
        return False
    if len(words) < 6:
        return len(words) > 0
    return any(w.lower() in _EN_COMMON for w in words)


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


def card_parse(completion: llm.Completion) -> CardContent:
    """The validated card in a completion; raises LLMBadOutput naming the first problems.

    Cosmetic excess is repaired, not failed: a field over its cap is trimmed, keywords over
    their cap or count are dropped, and each is recorded in the card's flags."""
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
    elif not is_chinese(title_zh, minimum=2):
        problems.append("title_zh is not in Chinese")
    parts: dict[str, dict[str, str]] = {}
    for language, caps, check in (("en", EN_CAPS, is_english), ("zh", ZH_CAPS, is_chinese)):
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


# --- Extractive cards (no LLM configured) ----------------------------------------------------

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
        parse=card_parse,
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


def cards_ensure(papers: Iterable[Paper]) -> dict[int, Card]:
    """The current-key card of each paper (with an abstract), created pending if missing."""
    prompt_version, model = current_key()
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


def cards_generate(paper_ids: Iterable[int], *, concurrency: int = 1) -> dict[str, int]:
    """Make the current cards of these papers (due ones only; done ones are left alone).

    With `concurrency` > 1 the LLM calls run in that many threads. When the budget runs out
    the remaining cards wait for the next UTC day. Returns counts by outcome.
    """
    papers = {p.pk: p for p in _papers(paper_ids)}
    cards = cards_ensure(papers.values())
    counts = dict.fromkeys(
        ("papers", "done", "extractive", "failed", "pending", "skipped", "deferred"), 0
    )
    counts["papers"] = len(papers)
    todo = [c for c in cards.values() if c.status in (Card.Status.PENDING, Card.Status.FAILED)]
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


def _matched() -> Exists:
    return Exists(Match.objects.filter(paper_id=OuterRef("pk"), radar__active=True))


def _wanted(papers: QuerySet[Paper]) -> QuerySet[Paper]:
    """Of `papers`, those that get a card now: by LLM_SUMMARIZE, matched ones (all with "all")
    of the last DUE_WINDOW_DAYS and, without an LLM, every paper of the latest days (an
    extractive card costs nothing but a moment of CPU)."""
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
    """Of these papers, those that get a card now (see `_wanted`)."""
    ids = sorted(set(paper_ids))
    if not ids:
        return []
    papers = _wanted(Paper.objects.filter(id__in=ids))
    return list(papers.order_by("id").values_list("id", flat=True))


def radar_papers_wanting_cards(radar_id: int) -> list[int]:
    """The papers a radar matches that get a card now (after it was saved and rescored)."""
    matches = Match.objects.filter(paper_id=OuterRef("pk"), radar_id=radar_id)
    papers = _wanted(Paper.objects.filter(Exists(matches)))
    return list(papers.order_by("id").values_list("id", flat=True))


def cards_request(paper_ids: Iterable[int]) -> list[int]:
    """Create pending cards for the papers that should get one; returns the ids of those
    whose card is still to make (a done or extractive card is not asked for again)."""
    ids = papers_wanting_cards(paper_ids)
    if not ids:
        return []
    found = cards_ensure(Paper.objects.filter(id__in=ids).only("id", "title", "abstract"))
    due = (Card.Status.PENDING, Card.Status.FAILED)
    return sorted(pid for pid, card in found.items() if card.status in due)


def fill_allowance() -> int | None:
    """How many cards of unmatched papers may be asked for now: None when nothing limits it
    (extractive cards, or no daily budget), else what FILL_SHARE of today's budget has left,
    in planned cards."""
    cap = int(settings.LLM_DAILY_TOKEN_BUDGET)
    if not llm.llm_configured() or cap <= 0:
        return None
    return max(0, (int(cap * FILL_SHARE) - llm.budget_spent()) // CARD_TOKENS_PLANNED)


# New papers before cross-lists before replacements, as the front page lists them.
_NEW_FIRST = Case(
    When(announce_type=Paper.AnnounceType.NEW, then=0),
    When(announce_type=Paper.AnnounceType.CROSS, then=1),
    default=Value(2),
    output_field=IntegerField(),
)


def cards_due(
    *, limit: int = 200, days: int = DUE_WINDOW_DAYS, outdated: bool = False
) -> list[int]:
    """Ids of papers whose current card is due, in this order: retries whose time has come;
    papers LLM_SUMMARIZE wants (matched ones of the last `days` days) without a card of the
    current prompt and model for their text (new matches after a rescore, extractive cards
    once an LLM is configured); then the other papers of the latest days (all of them for
    extractive cards; with an LLM as many as `fill_allowance` says), newest and new first.

    A paper with a done card of another prompt version or model is due only when `outdated`
    is asked for: a new prompt or model regenerates on demand, not by itself."""
    mode = settings.LLM_SUMMARIZE
    if mode == "off" or limit <= 0:
        return []
    prompt_version, model = current_key()
    now = timezone.now()
    retries = list(
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
        .order_by(F("next_attempt_at").asc(nulls_first=True), "id")
        .values_list("paper_id", flat=True)[:limit]
    )
    rest = limit - len(retries)
    if rest <= 0:
        return retries
    missing: QuerySet[Paper] = (
        Paper.objects.exclude(abstract="")
        .exclude(id__in=retries)
        .annotate(current=PaperTextHash())
        .exclude(
            Exists(
                Card.objects.filter(
                    paper_id=OuterRef("pk"),
                    text_hash=OuterRef("current"),
                    prompt_version=prompt_version,
                    model=model,
                )
            )
        )
    )
    if not outdated:
        missing = missing.exclude(
            Exists(
                Card.objects.filter(
                    paper_id=OuterRef("pk"), text_hash=OuterRef("current"), status=Card.Status.DONE
                )
            )
        )
    newest = sources_newest()
    wanted = window(days, newest)
    if mode != "all":
        wanted &= Q(_matched())
    more = list(
        missing.filter(wanted).order_by("-announced", "-id").values_list("id", flat=True)[:rest]
    )
    fill = rest - len(more)
    allowance = fill_allowance()
    if mode != "all" and allowance is not None:
        fill = min(fill, allowance)
    if mode == "all" or fill <= 0:
        return retries + more
    latest = (
        missing.filter(window(LATEST_DAYS, newest))
        .exclude(_matched())
        .order_by("-announced", _NEW_FIRST, "id")
        .values_list("id", flat=True)[:fill]
    )
    return retries + more + list(latest)


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
