"""The one configured OpenAI-compatible client: base URL, key, timeouts and retries.

Every call to an OpenAI-compatible endpoint goes through `openai_client`: `digests/llm.py`
for chat completions and `radar/embedding.py` for embeddings. The endpoint is LLM_BASE_URL
(empty: the SDK's default, api.openai.com) with LLM_API_KEY; each caller states its own
timeout and retries, because their policies differ: chat runs its own retry loop under one
capped deadline (so the SDK must not retry), embeddings let the SDK retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from openai import OpenAI

__all__ = ["llm_configured", "openai_client"]


def llm_configured() -> bool:
    """Whether an endpoint is set up (a base URL, or a key for the SDK's default endpoint)."""
    return bool(settings.LLM_BASE_URL or settings.LLM_API_KEY)


def openai_client(
    *,
    max_retries: int,
    timeout: float | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
) -> OpenAI:
    """A client for `base_url` with `api_key` (None: LLM_BASE_URL, LLM_API_KEY)."""
    # Imported here: the SDK takes about half a second to import, and the local embedder and
    # an install without an LLM never need it.
    from openai import OpenAI

    if base_url is None:
        base_url = settings.LLM_BASE_URL
    if api_key is None:
        api_key = settings.LLM_API_KEY
    options: dict[str, Any] = {}
    if timeout is not None:
        # Left out otherwise: the SDK's own default, for callers that time each request.
        options["timeout"] = timeout
    # Local servers need no key, but the SDK refuses to start without one.
    return OpenAI(
        base_url=base_url or None,
        api_key=api_key or "not-needed",
        max_retries=max_retries,
        **options,
    )
