"""Reads on accounts shared with the apps above."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import SuppressedAddress


def suppressed_addresses(emails: Iterable[str]) -> set[str]:
    """Those of `emails` (case-folded) that mail must no longer go to (one query)."""
    wanted = {e.strip().casefold() for e in emails if e}
    if not wanted:
        return set()
    return set(SuppressedAddress.objects.filter(email__in=wanted).values_list("email", flat=True))


def suppression_of(email: str) -> SuppressedAddress | None:
    """Why mail no longer goes to `email`, or None when it does."""
    if not email:
        return None
    return SuppressedAddress.objects.filter(email=email.strip().casefold()).first()
