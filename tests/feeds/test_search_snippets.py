"""Search snippets begin and end on whole words, a hyphenated compound ("fault-tolerant")
being one word: never "… fault-to …" or "tolerant quantum …"."""

from __future__ import annotations

import html
import random
import re

import pytest

from feeds.search import WORD_REACH, search_page, substring_headline, word_span
from tests.factories import arxiv_paper

COMPOUNDS = [
    "noise-aware", "fault-tolerant", "state-of-the-art", "hardware-efficient", "circuit-level",
    "long-range", "low-overhead", "real-time", "data-driven", "error-corrected",
]  # fmt: skip
WORDS = [*COMPOUNDS, "we", "study", "codes", "qubits", "memory", "with", "under", "models"]


def shown_words(snippet: str) -> list[str]:
    """The words a snippet shows, without its marks and ellipses."""
    text = html.unescape(re.sub(r"</?mark>", "", str(snippet)))
    return text.replace("…", " ").split()


def test_a_cut_inside_a_hyphenated_word_is_widened_to_the_whole_word() -> None:
    text = "We build fault-tolerant quantum memory."
    cut = text.index("fault-to") + len("fault-to")
    assert text[slice(*word_span(text, 0, cut))] == "We build fault-tolerant"
    start = text.index("tolerant")
    assert text[slice(*word_span(text, start, len(text)))] == "fault-tolerant quantum memory."
    # Cuts between words stay where they are.
    assert word_span(text, 3, 8) == (3, 8)
    assert word_span(text, 0, len(text)) == (0, len(text))


def test_a_word_too_long_to_take_whole_is_left_out_but_never_the_hit() -> None:
    url = "https://example.org/" + "a" * (2 * WORD_REACH)
    text = f"see {url} for code"
    start, end = word_span(text, 0, text.index(url) + 10)
    assert text[start:end].strip() == "see"
    # When leaving it out would drop the hit, the cut stays.
    hit = (text.index(url), text.index(url) + 10)
    assert word_span(text, 0, hit[1], keep=hit) == (0, hit[1])


def test_chinese_text_is_cut_between_any_two_characters() -> None:
    text = "我们构建了容错量子存储器"
    assert word_span(text, 0, 5) == (0, 5)
    assert word_span(text, 4, len(text)) == (4, len(text))


def test_a_substring_snippet_never_ends_or_begins_inside_a_hyphenated_word() -> None:
    text = (
        "Sparse 注意力 for long documents keeps memory low and the decoder fault-tolerant "
        "under circuit-level noise in state-of-the-art hardware."
    )
    words = set(text.split())
    for width in range(5, 60):
        snippet = substring_headline(text, "注意力", width=width)
        assert "<mark>注意力</mark>" in snippet
        assert [w for w in shown_words(snippet) if w not in words] == [], width
    # The window that used to end "… keeps memory low and the decoder fault-to …".
    width = text.index("fault-to") + len("fault-to") - text.index("memory") - len("memory")
    snippet = substring_headline(text, "memory", width=width)
    assert snippet.endswith(" the decoder fault-tolerant …")


@pytest.mark.django_db
def test_full_text_snippets_end_on_whole_hyphenated_words() -> None:
    rng = random.Random(1)
    abstracts = []
    for _ in range(40):
        words = [rng.choice(WORDS) for _ in range(rng.randint(50, 140))]
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words)), "decoder")
        abstracts.append(" ".join(words) + ".")
    papers = [arxiv_paper(title=f"Paper {i}", abstract=a) for i, a in enumerate(abstracts)]

    _, _, snippets = search_page([p.pk for p in papers], text="decoder", fulltext=True)

    assert len(snippets) == len(papers)
    for paper in papers:
        snippet = snippets[paper.pk]
        assert "<mark>decoder</mark>" in snippet
        whole = set(paper.abstract.replace(".", "").split())
        assert [w for w in shown_words(snippet) if w.rstrip(".") not in whole] == [], snippet
