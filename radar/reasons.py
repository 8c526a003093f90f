"""The wording of match reasons, in the reader's language.

Scoring (`radar.scoring`) and the stored `Match.reasons` keep reasons as `(kind, value,
points)` triples (older matches: `(kind, value)` pairs), so each page, feed and API answer
words them here, in the language active for its reader, with the points each part added.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils.translation import gettext as _

__all__ = ["reason_text", "reasons_text"]


def reason_text(kind: str, value: str | float, points: float | None = None) -> str:
    """The one place reasons are worded, in the active language; with the points the part
    added to the score (reasons stored before scores had parts have none)."""
    if kind == "title":
        text = _("title contains '%(term)s'") % {"term": value}
    elif kind == "abstract":
        text = _("abstract contains '%(term)s'") % {"term": value}
    elif kind == "author":
        text = _("follows author %(name)s") % {"name": value}
    elif kind == "words":
        text = _("has your words: %(words)s") % {"words": value}
    elif kind == "meaning":
        text = _("close in meaning to this radar")
    elif kind == "liked":
        text = _("like the papers you liked")
    elif kind == "similar":
        text = _("close to your description (%(score).2f)") % {"score": float(value)}
    else:
        raise ValueError(f"unknown reason kind {kind!r}")
    if points:
        return _("%(reason)s: +%(points)s") % {"reason": text, "points": f"{float(points):.0f}"}
    return text


def reasons_text(reasons: Iterable[Sequence[str | float]]) -> list[str]:
    """Stored reasons as sentences in the active language (unknown kinds are skipped)."""
    out = []
    for reason in reasons:
        try:
            kind, value, *rest = reason
            points = float(rest[0]) if rest else None
            out.append(reason_text(str(kind), value, points))
        except (ValueError, TypeError):
            continue
    return out
