"""Papers as plain dicts with the stable field names of `export_papers` and the JSON API."""

from __future__ import annotations

from typing import Any

from feeds.models import Paper


def paper_export(paper: Paper) -> dict[str, Any]:
    """One paper under the names DESIGN §8 fixes (sightings must be prefetched)."""
    return {
        "key": paper.key,
        "arxiv_id": paper.arxiv_id,
        "doi": paper.doi,
        "version": paper.version,
        "announce_type": paper.announce_type,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "primary_category": paper.primary_category,
        "categories": list(paper.categories),
        "announced": paper.announced.isoformat(),
        "journal_ref": paper.journal_ref,
        "journal_doi": paper.journal_doi,
        "links": {k: paper.links[k] for k in ("abs", "pdf", "html", "doi") if k in paper.links},
        "sources": sorted({s.source.label for s in paper.sightings.all()}),
    }
