"""The wording of match reasons, in the reader's language.

Scoring (`radar.scoring`) and the stored `Match.reasons` keep reasons as `(kind, value)` pairs,
so each page, feed and API answer words them here, in the language active for its reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils.translation import gettext as _

__all__ = ["reason_text", "reasons_text"]


def reason_text(kind: str, value: str | float) -> str:
    """The one place reasons are worded, in the active language."""
    if kind == "title":
        return _("title contains '%(term)s'") % {"term": value}
    if kind == "abstract":
        return _("abstract contains '%(term)s'") % {"term": value}
    if kind == "author":
        return _("follows author %(name)s") % {"name": value}
    if kind == "similar":
        return _("close to your description (%(score).2f)") % {"score": float(value)}
    raise ValueError(f"unknown reason kind {kind!r}")


def reasons_text(reasons: Iterable[Sequence[str | float]]) -> list[str]:
    """Stored reasons as sentences in the active language (unknown kinds are skipped)."""
    out = []
    for kind, value in reasons:
        try:
            out.append(reason_text(str(kind), value))
        except (ValueError, TypeError):
            continue
    return out
