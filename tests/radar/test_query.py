"""Radar include queries: parsing, matching on normalised text, readable errors."""

from __future__ import annotations

import timeit

import pytest

from radar.query import Hit, QueryError, normalise, parse


def hit(query: str, title: str, abstract: str = "") -> Hit | None:
    return parse(query).matches(normalise(title), normalise(abstract))


def matches(query: str, title: str, abstract: str = "") -> bool:
    return hit(query, title, abstract) is not None


# --- normalise ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Prompt-Injection Attacks", "prompt injection attacks"),
        ("  LLM's  (in-context)\tlearning…  ", "llm s in context learning"),
        ("ｐｒｏｍｐｔ　ｉｎｊｅｃｔｉｏｎ", "prompt injection"),  # full-width, NFKC
        ("ﬁne-tuning", "fine tuning"),  # ligature
        ("STRAẞE snake_case", "strasse snake case"),  # case folding, underscore
        ("大语言模型的提示注入", "大语言模型的提示注入"),
    ],
)
def test_normalise_folds_case_width_and_punctuation(text: str, expected: str) -> None:
    assert normalise(text) == expected


# --- matching -------------------------------------------------------------------------------


def test_a_phrase_matches_only_its_words_in_order() -> None:
    assert matches('"prompt injection"', "Prompt injection in the wild")
    assert not matches('"prompt injection"', "Injection of a prompt")
    assert not matches('"prompt injection"', "Prompt design and SQL injection")


def test_bare_words_match_anywhere_in_any_order() -> None:
    assert matches("prompt injection", "Injection of a prompt")
    assert matches("prompt injection", "Prompt design and SQL injection")
    assert not matches("prompt injection", "Prompt design")


def test_words_match_on_word_boundaries_only() -> None:
    assert not matches("inject", "Injection attacks")
    assert not matches("art", "State of the artwork")
    assert matches("art", "State of the art")


def test_a_term_also_matches_its_plural_but_not_its_singular() -> None:
    assert matches("jailbreak", "Universal jailbreaks for aligned models")
    assert matches('"prompt injection"', "Detecting prompt injections")
    assert matches("patch", "Adversarial patches")
    assert not matches("llms", "A small LLM")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Prompt injection attacks on LLM agents", True),
        ("A survey of prompt injection", True),  # NOT binds to jailbreak's side of the OR
        ("Jailbreaking is hard", False),  # "jailbreaking" is not "jailbreak" + s/es
        ("Universal jailbreaks of aligned models", True),
        ("Jailbreak attacks: a survey", False),
        ("Jailbreak attacks: surveys considered harmful", False),  # the plural is excluded too
        ("Protein folding with diffusion", False),
    ],
)
def test_the_issue_example_follows_not_and_or_precedence(title: str, expected: bool) -> None:
    assert matches('"prompt injection" OR jailbreak NOT survey', title) is expected


def test_parentheses_group_against_precedence() -> None:
    query = '("prompt injection" OR jailbreak) NOT survey'
    assert matches(query, "Jailbreaks in practice")
    assert not matches(query, "A survey of prompt injection")


@pytest.mark.parametrize(
    ("query", "title", "expected"),
    [
        ("llm agents", "Agents built on an LLM", True),
        ("llm agents", "LLM reasoning", False),
        ("llm AND agents", "LLM reasoning", False),
        ("llm agents OR robots", "Robots", True),  # (llm AND agents) OR robots
        ("llm (agents OR robots)", "Robots", False),
        ("llm (agents OR robots)", "LLM robots", True),
        ("a OR b c", "b", False),  # AND binds tighter than OR
    ],
)
def test_adjacent_terms_are_and(query: str, title: str, expected: bool) -> None:
    assert matches(query, title) is expected


@pytest.mark.parametrize("query", ["NOT survey", "-survey", '-"a survey"', "-(survey OR review)"])
def test_a_not_only_query_matches_everything_else(query: str) -> None:
    parsed = parse(query)
    assert parsed.terms() == []
    assert parsed.matches_without_terms
    assert parsed.matches("diffusion models", "") == Hit(title=(), abstract=())
    assert parsed.matches("a survey of diffusion models", "") is None


def test_lower_case_operators_are_ordinary_words() -> None:
    assert parse("search and rescue").terms() == ["search", "and", "rescue"]
    assert not matches("search and rescue", "Search or rescue")
    assert matches("search and rescue", "Search and rescue robots")


def test_hyphen_case_and_width_do_not_matter() -> None:
    assert matches("prompt-injection", "PROMPT INJECTION benchmarks")
    assert matches('"prompt injection"', "Prompt-Injection benchmarks")
    assert matches("state-of-the-art", "beyond state of the art")
    assert matches("ＬＬＭ", "An llm")
    assert matches("“提示注入”", "大语言模型的提示注入攻击")  # CJK: substring, curly quotes


def test_hit_lists_positive_terms_by_field() -> None:
    result = hit(
        '"prompt injection" OR jailbreak NOT survey',
        "Prompt injection against agents",
        "We study jailbreaks and prompt injections.",
    )
    assert result == Hit(title=("prompt injection",), abstract=("prompt injection", "jailbreak"))


def test_terms_are_the_positive_ones_once_each_in_order() -> None:
    query = parse('"Prompt Injection" jailbreak -survey (jailbreak OR NOT NOT red-teaming)')
    assert query.terms() == ["prompt injection", "jailbreak", "red teaming"]
    assert not query.matches_without_terms
    assert parse("a OR NOT b").matches_without_terms


def test_a_phrase_does_not_span_title_and_abstract() -> None:
    assert not matches('"prompt injection"', "On prompt", "Injection is common")
    assert matches("prompt injection", "On prompt", "Injection is common")


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "The query is empty."),
        ("   ", "The query is empty."),
        ('"prompt injection', "The quote at character 1 is never closed."),
        ("(llm OR agents", 'The "(" at character 1 is never closed.'),
        ("llm (agents", 'The "(" at character 5 is never closed.'),
        ("llm agents)", 'The ")" at character 11 has no matching "(".'),
        ("()", "The parentheses at character 1 are empty."),
        ("llm OR", '"OR" at character 5 needs a term after it.'),
        ("llm AND", '"AND" at character 5 needs a term after it.'),
        ("llm NOT", '"NOT" at character 5 needs a term after it.'),
        ("OR llm", '"OR" at character 1 needs a term before it.'),
        ("(AND llm)", '"AND" at character 2 needs a term before it.'),
        ("llm AND OR agents", '"AND" at character 5 needs a term after it, but "OR" follows.'),
        ("llm NOT )", '"NOT" at character 5 needs a term after it, but ")" follows.'),
        ('llm ""', "The empty phrase at character 5 has no letters or digits to search for."),
        ("llm &", '"&" at character 5 has no letters or digits to search for.'),
        ("llm -", '"-" at character 5 has no letters or digits to search for.'),
    ],
)
def test_malformed_queries_raise_a_readable_error(query: str, message: str) -> None:
    with pytest.raises(QueryError) as error:
        parse(query)
    assert str(error.value) == message


def test_matching_one_paper_takes_microseconds() -> None:
    query = parse('("prompt injection" OR jailbreak OR "red teaming") NOT survey llm')
    title = normalise("Universal and transferable adversarial attacks on aligned language models")
    abstract = normalise("Because out-of-the-box large language models are capable " * 20)
    assert query.matches(title, abstract) is None  # a real evaluation, not a cached answer
    assert query.matches(normalise("Jailbreak prompts for LLM agents"), abstract) is not None
    runs = 500
    best = min(timeit.repeat(lambda: query.matches(title, abstract), number=runs, repeat=5))
    # About 10 µs here; the bound leaves room for a busy machine, not for a query that
    # re-parses or backtracks per paper (every poll runs each radar over every new paper).
    assert best / runs < 250e-6, f"query.matches: {best / runs * 1e6:.0f} µs per paper"


@pytest.mark.parametrize("text", ["(" * 600 + "a" + ")" * 600, "NOT " * 400 + "a", "a " * 600])
def test_absurd_queries_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(QueryError):
        parse(text)
