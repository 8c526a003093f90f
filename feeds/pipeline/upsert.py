"""Bulk upsert of papers: one row per work; unchanged rows are skipped before any write."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from psycopg.types.json import Jsonb

from feeds.models import Source
from feeds.sources.base import PaperIn

# Columns written from a PaperIn, in COPY order, with their PostgreSQL types.
_COLUMNS: list[tuple[str, str]] = [
    ("key", "text"),
    ("arxiv_id", "text"),
    ("doi", "text"),
    ("version", "int4"),
    ("announce_type", "text"),
    ("title", "text"),
    ("abstract", "text"),
    ("abstract_html", "text"),
    ("authors", "text[]"),
    ("affiliations", "text[]"),
    ("primary_category", "text"),
    ("categories", "text[]"),
    ("announced", "date"),
    ("published", "date"),
    ("journal_ref", "text"),
    ("journal_doi", "text"),
    ("links", "jsonb"),
    ("content_hash", "text"),
]
_NAMES = [name for name, _ in _COLUMNS]
# A newer version moves the paper to its new announcement day; a metadata fix does not.
_VERSIONED = {"announce_type", "announced"}

_INSERT = f"""
INSERT INTO feeds_paper ({", ".join(_NAMES)}, created_at, updated_at)
SELECT {", ".join(_NAMES)}, now(), now() FROM paper_in
ON CONFLICT (key) DO UPDATE SET
    {
    ", ".join(
        f"{n} = CASE WHEN EXCLUDED.version > feeds_paper.version "
        f"THEN EXCLUDED.{n} ELSE feeds_paper.{n} END"
        if n in _VERSIONED
        else f"{n} = EXCLUDED.{n}"
        for n in _NAMES
        if n != "key"
    )
},
    updated_at = now()
WHERE feeds_paper.content_hash <> EXCLUDED.content_hash
  AND EXCLUDED.version >= feeds_paper.version
RETURNING id, key, (xmax = 0) AS inserted
"""

_SIGHTINGS = """
INSERT INTO feeds_papersighting
    (source_id, paper_id, announce_type, version, raw_hash, first_seen, last_seen)
SELECT %s, s.paper_id, s.announce_type, s.version, s.raw_hash, now(), now()
FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::text[])
    AS s(paper_id, announce_type, version, raw_hash)
ON CONFLICT (source_id, paper_id) DO UPDATE SET
    announce_type = EXCLUDED.announce_type, version = EXCLUDED.version,
    raw_hash = EXCLUDED.raw_hash, last_seen = now()
"""


@dataclass(slots=True)
class UpsertResult:
    """What an upsert did; `changed_ids` (new or changed papers) feeds the next stages."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    changed_ids: list[int] = field(default_factory=list)


def content_hash(paper: PaperIn) -> str:
    """A hash of everything stored about a paper except where and when it was announced."""
    payload = [
        paper.title, paper.abstract, paper.abstract_html, paper.authors, paper.affiliations,
        paper.arxiv_id, paper.doi, paper.version, paper.primary_category, paper.categories,
        paper.published.isoformat() if paper.published else None, paper.journal_ref,
        paper.journal_doi, sorted(paper.links.items()),
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def papers_upsert(
    source: Source, papers: Sequence[PaperIn], raw_hashes: Sequence[str] = ()
) -> UpsertResult:
    """Store sanitised papers seen by `source`; write only what is new or changed.

    `raw_hashes` (parallel to `papers`) are the fingerprints of the raw entries, kept on
    the sightings so that the next identical entry is skipped before normalising.
    """
    by_key: dict[str, PaperIn] = {}
    raw_by_key: dict[str, str] = {}
    for paper, raw_hash in zip(papers, raw_hashes or [""] * len(papers), strict=True):
        kept = by_key.get(paper.key)
        if kept is None or paper.version > kept.version:
            by_key[paper.key] = paper
            raw_by_key[paper.key] = raw_hash
    result = UpsertResult()
    if not by_key:
        return result

    with transaction.atomic(), connection.cursor() as cursor:
        merged = _merge_by_doi(cursor, by_key, raw_by_key)
        cursor.execute(
            "SELECT key, id, content_hash FROM feeds_paper WHERE key = ANY(%s)", [list(by_key)]
        )
        existing = {key: (pid, digest) for key, pid, digest in cursor.fetchall()}

        rows = []
        # Key order: two polls writing overlapping papers lock rows in the same order.
        for key, paper in sorted(by_key.items()):
            digest = content_hash(paper)
            if key in existing and existing[key][1] == digest:
                continue
            rows.append((paper, digest))
        written = _write_papers(cursor, rows) if rows else {}

        # Every entry that got this far is recorded as seen, with its fingerprint.
        sightings: dict[int, tuple[PaperIn, str]] = {}
        for key, paper in by_key.items():
            if key in written:
                pid, inserted = written[key]
                result.changed_ids.append(pid)
                if inserted:
                    result.created += 1
                else:
                    result.updated += 1
                sightings[pid] = (paper, raw_by_key[key])
            elif key in existing:
                sightings[existing[key][0]] = (paper, raw_by_key[key])
        for paper_id, paper, raw_hash in merged:
            sightings.setdefault(paper_id, (paper, raw_hash))
        if sightings:
            sightings = dict(sorted(sightings.items()))  # lock order, as above
            cursor.execute(
                _SIGHTINGS,
                [
                    source.id,
                    list(sightings),
                    [p.announce_type for p, _ in sightings.values()],
                    [p.version for p, _ in sightings.values()],
                    [raw_hash for _, raw_hash in sightings.values()],
                ],
            )
    result.skipped = len(papers) - result.created - result.updated
    return result


def _merge_by_doi(
    cursor: Any, by_key: dict[str, PaperIn], raw_by_key: dict[str, str]
) -> list[tuple[int, PaperIn, str]]:
    """Make a journal item and its preprint one paper, whichever arrived first.

    A journal item (key = its DOI) whose DOI is already some preprint's journal DOI is
    only recorded as a sighting of that preprint (returned, and removed from `by_key`).
    A preprint whose journal DOI is the key of a journal-only row takes that row over.
    """
    journal_dois = {p.journal_doi for p in by_key.values() if p.journal_doi}
    doi_keys = {k for k, p in by_key.items() if p.doi and k == p.doi and not p.arxiv_id}
    if not journal_dois and not doi_keys:
        return []
    cursor.execute(
        """
        SELECT id, key, journal_doi, arxiv_id FROM feeds_paper
        WHERE key = ANY(%s) OR journal_doi = ANY(%s) OR key = ANY(%s)
        """,
        [list(journal_dois), list(doi_keys), list(by_key)],
    )
    rows = cursor.fetchall()
    present = {key for _, key, _, _ in rows}
    merged: list[tuple[int, PaperIn, str]] = []
    for paper_id, _key, journal_doi, _ in rows:
        if journal_doi in by_key and journal_doi in doi_keys and journal_doi not in present:
            merged.append((paper_id, by_key.pop(journal_doi), raw_by_key[journal_doi]))
    for paper_id, key, _, arxiv_id in rows:
        if key in journal_dois and not arxiv_id and key not in by_key:
            preprint = next(
                (p for p in by_key.values() if p.journal_doi == key and p.key not in present),
                None,
            )
            if preprint is not None:
                cursor.execute(
                    "UPDATE feeds_paper SET key = %s WHERE id = %s", [preprint.key, paper_id]
                )
                present.add(preprint.key)
    return merged


def _write_papers(cursor: Any, rows: list[tuple[PaperIn, str]]) -> dict[str, tuple[int, bool]]:
    """COPY rows into a temporary table, then one INSERT … ON CONFLICT; key → (id, inserted)."""
    columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS)
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS paper_in ({columns}) ON COMMIT DROP")
    with cursor.cursor.copy(f"COPY paper_in ({', '.join(_NAMES)}) FROM STDIN") as copy:
        copy.set_types([kind for _, kind in _COLUMNS])
        for paper, digest in rows:
            copy.write_row(
                (
                    paper.key, paper.arxiv_id, paper.doi, paper.version, paper.announce_type,
                    paper.title, paper.abstract, paper.abstract_html, paper.authors,
                    paper.affiliations, paper.primary_category, paper.categories,
                    paper.announced, paper.published, paper.journal_ref, paper.journal_doi,
                    Jsonb(paper.links), digest,
                )
            )  # fmt: skip
    cursor.execute(_INSERT)
    written = {key: (pid, inserted) for pid, key, inserted in cursor.fetchall()}
    cursor.execute("DROP TABLE paper_in")
    return written
