"""A radar's description understood in English: one LLM call per new description turns it
into an English search profile (a paraphrase and 3–12 English phrases), which scoring uses
next to the description so that a Chinese interest finds English papers by their words too.

One call per description, not per radar: a radar whose description another radar already
had copies that radar's profile. A profile the owner wrote ("you") is kept until the
description changes. Without an LLM nothing is asked, and the owner may still write one.

The description reaches the model as JSON inside a delimited block the system prompt calls
untrusted data (angle brackets escaped). The answer is checked by code: the schema
(pydantic), English Latin-script text, keywords cleaned and capped (an unusable keyword is
dropped, not fatal); a bad answer gets one repair call, a second bad one is recorded on the
radar (`understood_error`) and nothing is stored; the beat sweep tries again later, up to
MAX_ATTEMPTS for one description. When today's token budget is spent nothing is asked and
the radar waits for the sweep after the budget resets.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from pydantic import BaseModel, ConfigDict

from digests import llm
from digests.cards import is_english
from feeds.labels import display_text
from radar.models import Radar
from radar.understanding import (
    GIVE_UP_ATTEMPTS,
    KEYWORDS_MIN,
    Understood,
    description_digest,
    is_latin,
    keywords_clean,
    text_clean,
    understood_parse,
)

logger = logging.getLogger(__name__)

__all__ = [
    "PROMPT_VERSION",
    "UNDERSTANDING_SCHEMA",
    "radar_understand",
    "radars_understanding_due",
    "understanding_ask",
    "understanding_messages",
    "understanding_parse",
]

PROMPT_VERSION = "understanding-v1"
# A paraphrase of at most ~80 words and 12 short phrases fit well under this.
MAX_TOKENS = 500
# Input cap (OWASP LLM10); radar_clean already caps a description at 2000 characters.
MAX_DESCRIPTION_CHARS = 2000
REPAIR_ECHO_CHARS = 2000
# Failed attempts for one description before the sweep stops trying (saving the radar
# starts again).
MAX_ATTEMPTS = GIVE_UP_ATTEMPTS
# Radars the beat sweep hands to the workers per run.
SWEEP_LIMIT = 50

UNDERSTANDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "keywords": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["text", "keywords"],
    "additionalProperties": False,
}


class _Out(BaseModel):
    # Extra keys are ignored rather than repaired: only these two are ever read.
    model_config = ConfigDict(extra="ignore", strict=True)

    text: str
    keywords: list[str]


def understanding_messages(description: str) -> list[dict[str, str]]:
    """The chat messages for one description (never anything about its owner)."""
    prompt = llm.prompt_parts(PROMPT_VERSION)
    schema_note = ""
    if settings.LLM_JSON_MODE != "json_schema":
        schema_note = "\nThe JSON object must follow this JSON Schema:\n" + json.dumps(
            UNDERSTANDING_SCHEMA
        )
    data = json.dumps(
        {"description": display_text(description).strip()[:MAX_DESCRIPTION_CHARS]},
        ensure_ascii=False,
        indent=1,
    )
    # Escaped angle brackets: the description can neither close the block nor open a tag.
    data = data.replace("<", "\\u003c").replace(">", "\\u003e")
    return [
        {"role": "system", "content": prompt["system"].replace("{{schema}}", schema_note)},
        {"role": "user", "content": prompt["user"].replace("{{data}}", data)},
    ]


def understanding_parse(completion: llm.Completion) -> tuple[str, list[str]]:
    """The validated (text, keywords) of an answer; raises LLMBadOutput naming the problems."""
    parsed = llm.answer_parse(completion, _Out, "understanding")
    text = text_clean(parsed.text)
    keywords = keywords_clean(parsed.keywords)
    problems: list[str] = []
    if not text:
        problems.append("text is empty")
    elif not is_latin(text) or not is_english(text):
        problems.append("text is not in English (Latin letters only)")
    if len(keywords) < KEYWORDS_MIN:
        problems.append(
            f"keywords has {len(keywords)} usable entries, at least {KEYWORDS_MIN} are needed "
            "(English words or phrases in Latin letters, at most 5 words each)"
        )
    if problems:
        raise llm.LLMBadOutput("; ".join(problems))
    return text, keywords


def understanding_ask(
    description: str, *, usage: llm.Usage | None = None, subject: str = ""
) -> dict[str, Any]:
    """The English profile of `description` from the configured LLM, as stored in
    `Radar.understood` (by "llm"): one call, and one repair call if needed.

    Needs no radar (benchmarks call it as it is). Raises ValueError for an empty
    description and the `digests.llm` errors (BudgetExhausted, LLMBadOutput…) otherwise.
    """
    if not description.strip():
        raise ValueError("an empty description has nothing to understand")
    text, keywords = llm.ask_validated(
        understanding_messages(description),
        parse=understanding_parse,
        prompt_version=PROMPT_VERSION,
        echo_chars=REPAIR_ECHO_CHARS,
        usage=usage if usage is not None else llm.Usage(),
        schema=UNDERSTANDING_SCHEMA,
        schema_name="search_profile",
        max_tokens=MAX_TOKENS,
        purpose="understanding",
        subject=subject,
    )
    return Understood(
        text=text,
        keywords=tuple(keywords),
        by="llm",
        digest=description_digest(description),
        model=str(settings.LLM_MODEL),
    ).as_json()


def _made_elsewhere(digest: str, radar_id: int) -> dict[str, Any] | None:
    """An LLM profile another radar already has for the same description (the cache)."""
    found = (
        Radar.objects.filter(understood__by="llm", understood__for=digest)
        .exclude(id=radar_id)
        .values_list("understood", flat=True)
        .first()
    )
    return found if understood_parse(found) is not None else None


def radar_understand(radar_id: int) -> str:
    """Give the radar an English profile of its current description if it lacks one.

    Returns what happened: "skipped" (no LLM, no radar, no description), "unchanged" (the
    profile is for this description already, the LLM's or the owner's), "copied" (from a
    radar with the same description), "made" (one LLM call), "stale" (the radar changed
    meanwhile: nothing stored, its own save asked again), "failed" (recorded on the radar),
    or "deferred" (today's budget is spent). The caller rescores after "copied" or "made".
    """
    if not llm.llm_configured():
        return "skipped"
    radar = (
        Radar.objects.filter(id=radar_id)
        .only("id", "description", "understood", "understood_attempts")
        .first()
    )
    if radar is None or not radar.description.strip():
        return "skipped"
    digest = description_digest(radar.description)
    current = understood_parse(radar.understood)
    if current is not None and current.digest == digest:
        return "unchanged"
    # Stored only if nobody changed the description or the profile meanwhile.
    rows = Radar.objects.filter(
        id=radar.pk, description=radar.description, understood=radar.understood
    )
    copied = _made_elsewhere(digest, radar.pk)
    if copied is not None:
        done = rows.update(understood=copied, understood_error="", understood_attempts=0)
        return "copied" if done else "stale"
    try:
        made = understanding_ask(radar.description, subject=f"radar:{radar.pk}")
    except llm.BudgetExhausted as exc:
        # Not the radar's fault: no attempt counted, the sweep asks after the reset.
        rows.update(understood_error=f"{exc.kind}: {exc}"[:2000])
        return "deferred"
    except llm.LLMError as exc:
        rows.update(
            understood_error=f"{exc.kind}: {exc}"[:2000],
            understood_attempts=F("understood_attempts") + 1,
        )
        logger.info("understanding radar %s: %s: %s", radar.pk, exc.kind, exc)
        return "failed"
    done = rows.update(understood=made, understood_error="", understood_attempts=0)
    return "made" if done else "stale"


def radars_understanding_due(limit: int = SWEEP_LIMIT) -> list[int]:
    """Radars with a description still to understand: never tried (an LLM configured since),
    or failed fewer than MAX_ATTEMPTS times. Empty without an LLM or when the budget is spent."""
    if not llm.llm_configured():
        return []
    cap = int(settings.LLM_DAILY_TOKEN_BUDGET)
    if cap > 0 and llm.budget_spent() >= cap:
        return []
    return list(
        Radar.objects.exclude(description="")
        .filter(Q(understood={}) | ~Q(understood_error=""))
        .filter(understood_attempts__lt=MAX_ATTEMPTS, active=True)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
