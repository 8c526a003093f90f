"""Bulk upsert of papers: one row per work; unchanged rows are skipped before any write."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

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
INSERT INTO feeds_papersighting (source_id, paper_id, announce_type, version, first_seen, last_seen)
SELECT %s, s.paper_id, s.announce_type, s.version, now(), now()
FROM unnest(%s::bigint[], %s::text[], %s::int[]) AS s(paper_id, announce_type, version)
ON CONFLICT (source_id, paper_id) DO UPDATE SET
    announce_type = EXCLUDED.announce_type, version = EXCLUDED.version, last_seen = now()
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


def papers_upsert(source: Source, papers: Sequence[PaperIn]) -> UpsertResult:
    """Store sanitised papers seen by `source`; write only what is new or changed."""
    by_key: dict[str, PaperIn] = {}
    for paper in papers:
        kept = by_key.get(paper.key)
        if kept is None or paper.version > kept.version:
            by_key[paper.key] = paper
    result = UpsertResult()
    if not by_key:
        return result

    with transaction.atomic(), connection.cursor() as cursor:
        merged = _merge_by_doi(cursor, by_key)
        cursor.execute(
            """
            SELECT p.key, p.id, p.content_hash, s.id IS NOT NULL
            FROM feeds_paper p
            LEFT JOIN feeds_papersighting s ON s.paper_id = p.id AND s.source_id = %s
            WHERE p.key = ANY(%s)
            """,
            [source.id, list(by_key)],
        )
        existing = {key: (pid, digest, seen) for key, pid, digest, seen in cursor.fetchall()}

        rows = []
        for key, paper in by_key.items():
            digest = content_hash(paper)
            if key in existing and existing[key][1] == digest:
                continue
            rows.append((paper, digest))
        written = _write_papers(cursor, rows) if rows else {}

        sightings: dict[int, PaperIn] = {}
        for key, paper in by_key.items():
            if key in written:
                pid, inserted = written[key]
                result.changed_ids.append(pid)
                if inserted:
                    result.created += 1
                else:
                    result.updated += 1
                sightings[pid] = paper
            elif key in existing and not existing[key][2]:
                sightings[existing[key][0]] = paper
        for paper_id, paper in merged:
            sightings.setdefault(paper_id, paper)
        if sightings:
            cursor.execute(
                _SIGHTINGS,
                [
                    source.id,
                    list(sightings),
                    [p.announce_type for p in sightings.values()],
                    [p.version for p in sightings.values()],
                ],
            )
    result.skipped = len(papers) - result.created - result.updated
    return result


def _merge_by_doi(cursor, by_key: dict[str, PaperIn]) -> list[tuple[int, PaperIn]]:
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
    merged: list[tuple[int, PaperIn]] = []
    for paper_id, _key, journal_doi, _ in rows:
        if journal_doi in by_key and journal_doi in doi_keys and journal_doi not in present:
            merged.append((paper_id, by_key.pop(journal_doi)))
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


def _write_papers(cursor, rows: list[tuple[PaperIn, str]]) -> dict[str, tuple[int, bool]]:
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
