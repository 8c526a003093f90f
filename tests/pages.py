"""Reading rendered pages in tests: the visible text, the titles on paper cards."""

from __future__ import annotations

import html
import re


def text_of(page: str) -> str:
    """The page's visible text with whitespace collapsed (tags removed, entities decoded)."""
    without_tags = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(without_tags).split())


def card_titles(page: str) -> list[str]:
    """The titles of the paper cards on `page`, in order, as the HTML has them."""
    return re.findall(r'<h2 class="paper-card__title"><a [^>]*>(.*?)</a></h2>', page)
