"""A "both" reader's email gives each item's text once when the two languages' texts are one
(without an LLM every summary is the abstract's own sentence in either slot); before, every
summary was printed twice in a row."""

from __future__ import annotations

from digests.edition import _words


def test_the_same_text_in_both_slots_is_given_once_and_marked_english() -> None:
    words = _words(
        [
            ("zh", "We propose a sparse attention scheme."),
            ("en", "We propose a sparse attention scheme."),
        ]
    )
    assert words.parts == [("en", "We propose a sparse attention scheme.")]


def test_two_languages_side_by_side_stay_two() -> None:
    words = _words(
        [("zh", "我们提出一种稀疏注意力方法。"), ("en", "We propose a sparse attention scheme.")]
    )
    assert words.parts == [
        ("zh-Hans", "我们提出一种稀疏注意力方法。"),
        ("en", "We propose a sparse attention scheme."),
    ]


def test_the_same_chinese_text_stays_chinese_and_empty_slots_are_left_out() -> None:
    assert _words([("zh", "稀疏注意力。"), ("en", "稀疏注意力。")]).parts == [
        ("zh-Hans", "稀疏注意力。")
    ]
    assert _words([("zh", ""), ("en", "Only English.")]).parts == [("en", "Only English.")]
