"""The only LLM client: chat completions that must answer JSON, from any OpenAI-compatible
endpoint, under one deadline, with typed errors, recorded usage and a daily token budget;
and the one skeleton of the jobs that ask it (cards, briefings).

Retries are ours, not the SDK's (it is built with `max_retries=0`): the SDK would retry a
timed-out request twice more (3 x LLM_TIMEOUT), while here LLM_TIMEOUT bounds the whole call,
retries and waits included. 429 answers wait for their Retry-After when it fits in that time.

The budget (LLM_DAILY_TOKEN_BUDGET, per UTC day, shared by every worker) is a Redis counter:
before a call, an upper bound of its tokens is reserved by a Lua script that refuses to go
past the cap; afterwards the reservation is settled to the usage the endpoint reported. The
bound (prompt bytes + per-message overhead + max_tokens) is never below the real count for
byte-level BPE tokenisers, so concurrent workers together never spend more than the cap.

A job (a card, a briefing) is a row claimed by one worker, whose prompt comes from
`digests/prompts/`, whose answer is validated by the caller's code and repaired once, whose
tokens are added to the row, and which is retried later with a doubling wait. The callers
keep only their schema, prompt and validation rules.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from academichub.openai_client import llm_configured, openai_client
from digests.models import LLMCall

if TYPE_CHECKING:
    from openai import OpenAI

logger = logging.getLogger(__name__)

__all__ = [
    "BudgetExhausted",
    "Completion",
    "LLMBadOutput",
    "LLMConnectionError",
    "LLMError",
    "LLMRateLimited",
    "LLMRequestError",
    "LLMServerError",
    "LLMTimeout",
    "Usage",
    "answer_parse",
    "ask_validated",
    "budget_spent",
    "chat_json",
    "job_claim",
    "job_store",
    "llm_configured",
    "prompt_parts",
    "retry_delay",
]

# DESIGN §6 caps: a request never waits longer than this, and is retried at most twice.
MAX_TIMEOUT = 60.0
MAX_RETRIES = 2
# Tokens a chat template adds around each message (role markers), counted generously.
MESSAGE_OVERHEAD = 16
BUDGET_KEY = "llm:tokens:{day}"
BUDGET_TTL = 3 * 24 * 3600
# The versioned prompt files of the jobs (card_v1.md, briefing_v1.md).
PROMPTS = Path(__file__).resolve().parent / "prompts"

_RESERVE = """
local cap = tonumber(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if cap > 0 and used + tonumber(ARGV[1]) > cap then return -1 end
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return total
"""


class LLMError(Exception):
    """Anything that kept the LLM from giving a usable answer."""

    kind = "error"
    # Worth trying again soon (the endpoint was busy or away), as opposed to a bad request.
    transient = False


class LLMTimeout(LLMError):
    """No answer within LLM_TIMEOUT."""

    kind = "timeout"
    transient = True


class LLMRateLimited(LLMError):
    """429 until the deadline; `retry_after` is the endpoint's own wait, in seconds."""

    kind = "rate_limited"
    transient = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMServerError(LLMError):
    """5xx answers, or an answer that is not a chat completion at all."""

    kind = "server_error"
    transient = True


class LLMConnectionError(LLMError):
    """The endpoint (or the budget counter in Redis) could not be reached."""

    kind = "connection"
    transient = True


class LLMRequestError(LLMError):
    """The endpoint refused the request (400, 401, 404…): a configuration problem."""

    kind = "request"


class LLMBadOutput(LLMError):
    """The model answered, but not with what was asked (raised by the callers' validation)."""

    kind = "bad_output"


class BudgetExhausted(LLMError):
    """Today's token budget is spent; `resets_at` is when the next UTC day starts."""

    kind = "budget"
    transient = True

    def __init__(self, message: str, resets_at: datetime) -> None:
        super().__init__(message)
        self.resets_at = resets_at


@dataclass(frozen=True, slots=True)
class Completion:
    """What the model said: its text (or refusal) and the tokens the endpoint counted."""

    text: str
    refusal: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    model: str


def _timeout() -> float:
    return max(1.0, min(float(settings.LLM_TIMEOUT), MAX_TIMEOUT))


def _max_retries() -> int:
    return max(0, min(int(settings.LLM_MAX_RETRIES), MAX_RETRIES))


@functools.lru_cache(maxsize=4)
def _client(base_url: str, api_key: str) -> OpenAI:
    # No SDK retries and no client timeout: chat_json retries itself, under one deadline.
    return openai_client(base_url=base_url, api_key=api_key, max_retries=0)


@functools.lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)


# --- The daily budget ------------------------------------------------------------------------


def _today() -> datetime:
    now = timezone.now().astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def budget_key(day: datetime | None = None) -> str:
    """The Redis key counting the tokens of `day` (default today, UTC)."""
    return BUDGET_KEY.format(day=(day or _today()).date().isoformat())


def budget_spent(day: datetime | None = None) -> int:
    """Tokens reserved or spent on `day` (default today, UTC) by every worker."""
    value = _redis(settings.REDIS_URL).get(budget_key(day))
    return int(value or 0)


def _reserve(tokens: int) -> str:
    """Reserve `tokens` of today's budget; returns the key to settle, or raises."""
    key = budget_key()
    try:
        total = _redis(settings.REDIS_URL).eval(
            _RESERVE, 1, key, tokens, int(settings.LLM_DAILY_TOKEN_BUDGET), BUDGET_TTL
        )
    except redis.RedisError as exc:
        # Without the shared counter nobody can know what the other workers spent.
        raise LLMConnectionError(f"the token budget counter is unreachable: {exc}") from exc
    if int(total) < 0:
        resets_at = _today() + timedelta(days=1)
        raise BudgetExhausted(
            f"today's token budget ({settings.LLM_DAILY_TOKEN_BUDGET}) is spent", resets_at
        )
    return key


def _settle(key: str, reserved: int, used: int) -> None:
    """Replace a reservation by the tokens really used (a refund when fewer)."""
    if used == reserved:
        return
    try:
        _redis(settings.REDIS_URL).incrby(key, used - reserved)
    except redis.RedisError:
        logger.warning("could not settle %s reserved tokens in Redis", reserved, exc_info=True)


def token_bound(
    messages: list[dict[str, str]], schema: dict[str, Any] | None, max_tokens: int
) -> int:
    """An upper bound of the tokens a call can use: every prompt byte a token, plus overhead,
    plus the schema (providers count it as prompt), plus the completion cap."""
    prompt = sum(len(m["content"].encode()) + MESSAGE_OVERHEAD for m in messages)
    if schema is not None:
        prompt += len(json.dumps(schema).encode())
    return prompt + MESSAGE_OVERHEAD + max_tokens


# --- The call --------------------------------------------------------------------------------


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _backoff(attempt: int) -> float:
    return min(0.5 * (1 << attempt), 8.0) * (1 - 0.25 * random.random())


def _record(
    *,
    purpose: str,
    subject: str,
    model: str,
    outcome: str,
    started: float,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    error: str = "",
) -> None:
    LLMCall.objects.create(
        purpose=purpose,
        subject=subject[:120],
        model=model[:120],
        outcome=outcome,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        duration_ms=int((time.monotonic() - started) * 1000),
        error=error[:2000],
    )


def response_format(schema: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The `response_format` for LLM_JSON_MODE: the schema enforced, or any JSON object."""
    if settings.LLM_JSON_MODE == "json_schema" and schema is not None:
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "strict": True, "schema": schema},
        }
    return {"type": "json_object"}


def chat_json(
    messages: list[dict[str, str]],
    *,
    schema: dict[str, Any] | None,
    schema_name: str,
    max_tokens: int,
    purpose: str,
    subject: str = "",
) -> Completion:
    """One chat completion asked for JSON; raises an LLMError subclass when there is none.

    `purpose` and `subject` are only stored locally (LLMCall); nothing but `messages` and the
    response format is sent.
    """
    import openai

    model = settings.LLM_MODEL
    fmt = response_format(schema, schema_name)
    reserved = token_bound(messages, schema if fmt["type"] == "json_schema" else None, max_tokens)
    key = _reserve(reserved)
    client = _client(settings.LLM_BASE_URL, settings.LLM_API_KEY)
    deadline = time.monotonic() + _timeout()
    retries = _max_retries()
    attempt = 0
    # Tokens to settle the reservation to; None keeps all of it spent (a timeout, a task
    # killed mid-request: the endpoint may have billed the call).
    used: int | None = None
    try:
        while True:
            started = time.monotonic()
            remaining = deadline - started
            if remaining <= 0.05:
                raise LLMTimeout(f"no answer within {_timeout():g} s")
            wait: float | None = None
            used = None
            try:
                request: dict[str, Any] = {
                    "model": model,
                    "messages": messages,
                    "response_format": fmt,
                    "max_tokens": max_tokens,
                    "temperature": 0.2,
                    "timeout": remaining,
                }
                response = client.chat.completions.create(**request)
            except openai.APITimeoutError as exc:
                # The endpoint may still bill it: the reservation stays spent.
                _record(purpose=purpose, subject=subject, model=model, outcome="timeout",
                        started=started, error=str(exc))  # fmt: skip
                raise LLMTimeout(f"no answer within {_timeout():g} s") from exc
            except openai.RateLimitError as exc:
                used = 0  # refused or failed before any work: nothing billed
                _record(purpose=purpose, subject=subject, model=model, outcome="rate_limited",
                        started=started, error=str(exc))  # fmt: skip
                after = _retry_after(exc.response.headers)
                wait = after if after is not None else _backoff(attempt)
                if attempt >= retries or time.monotonic() + wait >= deadline:
                    raise LLMRateLimited(f"rate limited (429): {exc.message}", after) from exc
            except openai.InternalServerError as exc:
                used = 0  # refused or failed before any work: nothing billed
                _record(purpose=purpose, subject=subject, model=model, outcome="server_error",
                        started=started, error=str(exc))  # fmt: skip
                wait = _backoff(attempt)
                if attempt >= retries or time.monotonic() + wait >= deadline:
                    raise LLMServerError(
                        f"server error {exc.status_code}: {exc.message}"[:500]
                    ) from exc
            except openai.APIConnectionError as exc:
                used = 0  # refused or failed before any work: nothing billed
                _record(purpose=purpose, subject=subject, model=model, outcome="connection",
                        started=started, error=str(exc))  # fmt: skip
                wait = _backoff(attempt)
                if attempt >= retries or time.monotonic() + wait >= deadline:
                    raise LLMConnectionError(f"endpoint unreachable: {exc}") from exc
            except openai.APIStatusError as exc:
                used = 0  # refused or failed before any work: nothing billed
                _record(purpose=purpose, subject=subject, model=model, outcome="request",
                        started=started, error=str(exc))  # fmt: skip
                raise LLMRequestError(
                    f"request refused ({exc.status_code}): {exc.message}"[:500]
                ) from exc
            except openai.OpenAIError as exc:
                _record(purpose=purpose, subject=subject, model=model, outcome="server_error",
                        started=started, error=str(exc))  # fmt: skip
                raise LLMServerError(f"unreadable answer from the endpoint: {exc}"[:500]) from exc
            if wait is not None:
                time.sleep(wait)
                attempt += 1
                continue
            # Until the usage is read, the whole reservation counts as spent.
            used = None
            try:
                completion = _completion(response, model)
            except LLMServerError as exc:
                _record(purpose=purpose, subject=subject, model=model, outcome="server_error",
                        started=started, error=str(exc))  # fmt: skip
                raise
            if getattr(response, "usage", None) is not None:
                used = completion.prompt_tokens + completion.completion_tokens
            _record(
                purpose=purpose,
                subject=subject,
                model=completion.model or model,
                outcome="refused" if completion.refusal else "ok",
                started=started,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
            )
            return completion
    finally:
        _settle(key, reserved, reserved if used is None else used)


def _completion(response: Any, model: str) -> Completion:
    """The first choice of a ChatCompletion, tolerant of servers that leave fields out."""
    choices = getattr(response, "choices", None)
    if not choices:
        raise LLMServerError("the answer has no choices")
    message = choices[0].message
    usage = getattr(response, "usage", None)
    return Completion(
        text=str(getattr(message, "content", None) or ""),
        refusal=str(getattr(message, "refusal", None) or ""),
        finish_reason=str(getattr(choices[0], "finish_reason", None) or ""),
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        model=str(getattr(response, "model", None) or model),
    )


def json_object(text: str) -> Any:
    """The JSON object in `text`, tolerating a code fence or words around it."""
    stripped = text.strip()
    fence = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", stripped, flags=re.S)
    if fence:
        stripped = fence.group(1)
    start = stripped.find("{")
    if start < 0:
        raise LLMBadOutput("the answer is not JSON (no object found)")
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped, start)
    except json.JSONDecodeError as exc:
        raise LLMBadOutput(f"the answer is not valid JSON: {exc.msg} at {exc.pos}") from exc
    return value


# --- Jobs: ask, validate, repair once --------------------------------------------------------


@functools.cache
def prompt_parts(version: str) -> dict[str, str]:
    """`digests/prompts/<version>.md` (card-v1 → card_v1.md), split at its `=== part ===` lines."""
    text = (PROMPTS / f"{version.replace('-', '_')}.md").read_text(encoding="utf-8")
    parts = re.findall(r"^=== (\w+) ===\n(.*?)(?=^=== \w+ ===\n|\Z)", text, flags=re.S | re.M)
    return {name: body.strip() for name, body in parts}


@dataclass(slots=True)
class Usage:
    """The calls and tokens a job spent (repairs included), to add to its row."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    def add(self, completion: Completion) -> None:
        """Count one answer."""
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.calls += 1


def answer_parse[M: BaseModel](completion: Completion, model: type[M], name: str) -> M:
    """The answer as `model`; raises LLMBadOutput for a refusal, no text, no JSON or a JSON
    that does not fit (naming its first errors, and the `name` of the schema)."""
    if completion.refusal:
        raise LLMBadOutput(f"the model refused: {completion.refusal[:300]}")
    if not completion.text.strip():
        raise LLMBadOutput(f"empty answer (finish reason {completion.finish_reason or '?'})")
    try:
        return model.model_validate(json_object(completion.text))
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
            for e in exc.errors()[:6]
        )
        raise LLMBadOutput(f"the JSON does not fit the {name} schema: {errors}") from exc


def ask_validated[T](
    messages: list[dict[str, str]],
    *,
    parse: Callable[[Completion], T],
    prompt_version: str,
    echo_chars: int,
    usage: Usage,
    schema: dict[str, Any],
    schema_name: str,
    max_tokens: int,
    purpose: str,
    subject: str,
) -> T:
    """One call, and one repair call if `parse` rejects the answer (LLMBadOutput).

    The repair call repeats `messages`, then the answer (its first `echo_chars` characters)
    and the prompt file's `repair` part with the problem in place of `{{error}}`. A refusal is not repaired. Every
    answer is counted in `usage`, also when the error propagates.
    """
    ask = functools.partial(
        chat_json,
        schema=schema,
        schema_name=schema_name,
        max_tokens=max_tokens,
        purpose=purpose,
        subject=subject,
    )
    first = ask(messages)
    usage.add(first)
    try:
        return parse(first)
    except LLMBadOutput as exc:
        if first.refusal:
            raise
        problem = str(exc)
    again = [
        *messages,
        {"role": "assistant", "content": first.text[:echo_chars] or "(empty)"},
        {
            "role": "user",
            "content": prompt_parts(prompt_version)["repair"].replace("{{error}}", problem),
        },
    ]
    second = ask(again)
    usage.add(second)
    try:
        return parse(second)
    except LLMBadOutput as exc:
        raise LLMBadOutput(f"{exc} (after one repair; first answer: {problem})") from exc


def retry_delay(attempts: int, *, base: timedelta, cap: timedelta | None = None) -> timedelta:
    """The wait after a job's `attempts`-th failure: `base`, doubled each time, up to `cap`."""
    # A shift, not 2 ** n: the same power of two, typed as an int.
    wait = base * (1 << max(attempts - 1, 0))
    return wait if cap is None else min(wait, cap)


def job_free(rows: QuerySet[Any], *, now: datetime) -> QuerySet[Any]:
    """Those of `rows` that nobody holds and whose next attempt has come."""
    return rows.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def job_claim(rows: QuerySet[Any], *, now: datetime, hold: timedelta) -> bool:
    """Take the job in `rows` (one row, its status due) for this worker until `now + hold`,
    unless another holds it or its next attempt is later: a conditional UPDATE, one wins."""
    return job_free(rows, now=now).update(claimed_until=now + hold) == 1


def job_store(table: type[Model], pk: int, /, **fields: Any) -> None:
    """Write what a job came to on its row, and release the worker's claim."""
    # Positional-only: the rows have fields called `model` too.
    table._default_manager.filter(id=pk).update(
        claimed_until=None, updated_at=timezone.now(), **fields
    )
