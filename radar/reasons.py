"""The wording of match reasons, in the reader's language.

Scoring (`radar.scoring`) and the stored `Match.reasons` keep reasons as `(kind, value,
points)` triples (older matches: `(kind, value)` pairs), so each page, feed and API answer
words them here, in the language active for its reader, with the points each part added.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from django.utils.translation import gettext as _

__all__ = ["LearnedFrom", "reason_text", "reasons_text"]


class LearnedFrom(StrEnum):
    """What a radar's learned part (`Radar.learned`, the "liked" reason) was learned from, as
    its owner is told: `radar.profiles.likes_learned` reads the example papers and the 👍
    papers alike. UNKNOWN words it without saying whose (a reader other than the owner, or a
    caller that does not know)."""

    EXAMPLES = "examples"
    LIKES = "likes"
    BOTH = "both"
    UNKNOWN = ""

    @classmethod
    def of(cls, *, examples: bool, likes: bool) -> LearnedFrom:
        """From whether the radar has example papers (found) and 👍 papers."""
        if examples and likes:
            return cls.BOTH
        if examples:
            return cls.EXAMPLES
        if likes:
            return cls.LIKES
        return cls.UNKNOWN


def _liked_text(learned_from: LearnedFrom) -> str:
    if learned_from == LearnedFrom.EXAMPLES:
        return _("like your example papers")
    if learned_from == LearnedFrom.LIKES:
        return _("like the papers you liked")
    if learned_from == LearnedFrom.BOTH:
        return _("like your example papers and the papers you liked")
    return _("like the papers this radar learned from")


def reason_text(
    kind: str,
    value: str | float,
    points: float | None = None,
    *,
    learned_from: LearnedFrom = LearnedFrom.UNKNOWN,
) -> str:
    """The one place reasons are worded, in the active language; with the points the part
    added to the score (reasons stored before scores had parts have none). `learned_from`
    words the learned part by what the radar learned it from."""
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
        text = _liked_text(learned_from)
    elif kind == "similar":
        text = _("close to your description (%(score).2f)") % {"score": float(value)}
    else:
        raise ValueError(f"unknown reason kind {kind!r}")
    if points:
        return _("%(reason)s: +%(points)s") % {"reason": text, "points": f"{float(points):.0f}"}
    return text


def reasons_text(
    reasons: Iterable[Sequence[str | float]], *, learned_from: LearnedFrom = LearnedFrom.UNKNOWN
) -> list[str]:
    """Stored reasons as sentences in the active language (unknown kinds are skipped)."""
    out = []
    for reason in reasons:
        try:
            kind, value, *rest = reason
            points = float(rest[0]) if rest else None
            out.append(reason_text(str(kind), value, points, learned_from=learned_from))
        except (ValueError, TypeError):
            continue
    return out
