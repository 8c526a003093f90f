"""Reading what the app renders, in tests: a page's visible text, the titles on its paper
cards, whether a BibTeX export's braces balance."""

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


def braces_balanced(text: str) -> bool:
    """As BibTeX counts them: every brace, escaped or not."""
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
