"""The source adapters, one module per kind, and the registry that picks one for a source."""

from __future__ import annotations

from feeds.sources import arxiv_api, arxiv_rss, biorxiv_api, rss
from feeds.sources.base import Adapter

ADAPTERS: dict[str, Adapter] = {
    "arxiv_rss": arxiv_rss,
    "arxiv_api": arxiv_api,
    "biorxiv_api": biorxiv_api,
    # One API serves both servers; each record's `server` field picks its links.
    "medrxiv_api": biorxiv_api,
    "rss": rss,
}


def get_adapter(kind: str) -> Adapter:
    """The adapter for a source kind; KeyError (naming the kind) when there is none."""
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise KeyError(f"no feed adapter for source kind {kind!r}") from None
