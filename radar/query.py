"""Radar include queries: parse `"prompt injection" OR jailbreak NOT survey`, match it on papers.

Grammar (precedence NOT > AND > OR; adjacent terms are ANDed)::

    query   := or
    or      := and ("OR" and)*
    and     := not (["AND"] not)*
    not     := ("NOT" | "-") not | atom
    atom    := WORD | "PHRASE" | "(" or ")"

Only upper-case AND/OR/NOT are operators; "and", "or", "not" are ordinary words. `-word`,
`-"a phrase"` and `-(…)` mean NOT. Typographic quotes (“…”) work like straight ones.

Matching works on `normalise`d text (NFKC, case-folded, every run of punctuation, hyphens
and spaces turned into one space), so `Prompt-Injection` and `prompt injection` are the same
term. A term matches on word boundaries (`inject` does not match `injection`), plus its
plural: the term followed by "s" or "es" (`jailbreak` matches `jailbreaks`, and `NOT survey`
also excludes `surveys`; a term does not match its singular: `llms` misses `llm`). A term
with Chinese, Japanese or Korean characters matches as a plain substring, since those
scripts do not separate words with spaces. Punctuation inside a term is lost (`C++` is `c`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Hit",
    "Query",
    "QueryError",
    "exclude_query",
    "is_substring_term",
    "normalise",
    "parse",
    "term_found",
]

_NON_WORD = re.compile(r"[\W_]+")
# Han, kana, Hangul and their punctuation/full-width blocks: scripts written without spaces.
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]")
_QUOTES = {'"': '"', "“": "”", "”": "”"}
_OPERATORS = {"AND", "OR", "NOT"}


def _(message: str) -> str:
    """Marks a message for makemessages; it is translated where it is shown
    (`QueryError.message`), so the parser needs no Django and no active language."""
    return message


class QueryError(ValueError):
    """A query the user must fix; the message says what is wrong, in plain words.

    `message` is the English template and `params` its values: `gettext(e.message) % e.params`
    words it in the reader's language, `str(e)` in English."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params)
        self.message = message
        self.params = params


def normalise(text: str) -> str:
    """Text as terms are matched: NFKC, case-folded, punctuation and hyphens as single spaces."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@dataclass(frozen=True, slots=True)
class Hit:
    """Which positive terms a matching paper contains, by field (for reasons and weighting)."""

    title: tuple[str, ...]
    abstract: tuple[str, ...]


# --- AST ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Term:
    index: int  # position in Query._terms; the same text is one term however often it occurs

    def value(self, present: list[bool]) -> bool:
        return present[self.index]

    def mask(self, present: list[int], universe: int) -> int:
        return present[self.index]


@dataclass(frozen=True, slots=True)
class _Not:
    child: _Node

    def value(self, present: list[bool]) -> bool:
        return not self.child.value(present)

    def mask(self, present: list[int], universe: int) -> int:
        return universe & ~self.child.mask(present, universe)


@dataclass(frozen=True, slots=True)
class _And:
    children: tuple[_Node, ...]

    def value(self, present: list[bool]) -> bool:
        return all(child.value(present) for child in self.children)

    def mask(self, present: list[int], universe: int) -> int:
        out = universe
        for child in self.children:
            out &= child.mask(present, universe)
            if not out:
                break
        return out


@dataclass(frozen=True, slots=True)
class _Or:
    children: tuple[_Node, ...]

    def value(self, present: list[bool]) -> bool:
        return any(child.value(present) for child in self.children)

    def mask(self, present: list[int], universe: int) -> int:
        out = 0
        for child in self.children:
            out |= child.mask(present, universe)
        return out


_Node = _Term | _Not | _And | _Or


class _Matcher:
    """One normalised term, precompiled to substring tests on space-padded text."""

    __slots__ = ("exact", "prefix", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        if _CJK.search(text):
            self.prefix = text
            self.exact: tuple[str, ...] = (text,)
        else:
            # The cheap prefix test rules out most papers before the three exact ones.
            self.prefix = f" {text}"
            self.exact = (f" {text} ", f" {text}s ", f" {text}es ")

    def found_in(self, padded: str) -> bool:
        return self.prefix in padded and any(needle in padded for needle in self.exact)


def is_substring_term(term: str) -> bool:
    """True for a normalised term with CJK characters: it matches as a plain substring."""
    return bool(_CJK.search(term))


def term_found(term: str, padded: str) -> bool:
    """Whether a normalised term occurs in `" " + normalised text + " "` (as `Query` matches)."""
    return _Matcher(term).found_in(padded)


# --- Query ----------------------------------------------------------------------------------


class Query:
    """A parsed include query; `matches` evaluates it on one paper's normalised text."""

    __slots__ = ("_matchers", "_positive", "_root", "all_terms", "text")

    def __init__(self, text: str, root: _Node, terms: list[str]) -> None:
        self.text = text
        self._root = root
        self._matchers = [_Matcher(term) for term in terms]
        self._positive = sorted(_positive_indexes(root, negated=False))
        # Every distinct term, negated ones included, in the order `mask` expects them.
        self.all_terms = [m.text for m in self._matchers]

    def __repr__(self) -> str:
        return f"Query({self.text!r})"

    def terms(self) -> list[str]:
        """The positive terms and phrases (not under NOT), normalised, in query order."""
        return [self._matchers[i].text for i in self._positive]

    @property
    def positive(self) -> list[int]:
        """Indexes into `all_terms` of the terms not under NOT (the ones reasons name)."""
        return self._positive

    def mask(self, present: list[int], universe: int) -> int:
        """The query over many papers at once: bit i of each mask is paper i.

        `present[j]` has the bits of the papers containing `all_terms[j]`.
        """
        return self._root.mask(present, universe)

    @property
    def matches_without_terms(self) -> bool:
        """True when a paper with none of the terms matches (`NOT survey`): no index can skip it."""
        return self._root.value([False] * len(self._matchers))

    def matches(self, title_norm: str, abstract_norm: str) -> Hit | None:
        """The positive terms found in each field if the paper matches, else None."""
        title = f" {title_norm} "
        abstract = f" {abstract_norm} "
        in_title = [m.found_in(title) for m in self._matchers]
        in_abstract = [m.found_in(abstract) for m in self._matchers]
        present = [t or a for t, a in zip(in_title, in_abstract, strict=True)]
        if not self._root.value(present):
            return None
        return Hit(
            title=tuple(self._matchers[i].text for i in self._positive if in_title[i]),
            abstract=tuple(self._matchers[i].text for i in self._positive if in_abstract[i]),
        )


def _positive_indexes(node: _Node, *, negated: bool) -> set[int]:
    """Indexes of terms that occur under an even number of NOTs."""
    match node:
        case _Term(index=index):
            return set() if negated else {index}
        case _Not(child=child):
            return _positive_indexes(child, negated=not negated)
        case _And(children=children) | _Or(children=children):
            return set().union(*(_positive_indexes(c, negated=negated) for c in children))


# --- Parsing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "term", "AND", "OR", "NOT", "(", ")"
    pos: int  # 1-based character position, for messages
    text: str = ""  # the term as typed (kind "term" only)


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, i + 1))
            i += 1
        elif char in _QUOTES:
            end = text.find(_QUOTES[char], i + 1)
            if end == -1:
                raise QueryError(_("The quote at character %(pos)d is never closed."), pos=i + 1)
            tokens.append(_Token("term", i + 1, text[i + 1 : end]))
            i = end + 1
        elif char == "-" and i + 1 < n and (text[i + 1] == "(" or text[i + 1] in _QUOTES):
            tokens.append(_Token("NOT", i + 1))
            i += 1
        else:
            start = i
            while (
                i < n and not text[i].isspace() and text[i] not in "()" and text[i] not in _QUOTES
            ):
                i += 1
            word = text[start:i]
            if word in _OPERATORS:
                tokens.append(_Token(word, start + 1))
            elif word.startswith("-") and len(word) > 1:
                tokens.append(_Token("NOT", start + 1))
                tokens.append(_Token("term", start + 2, word[1:]))
            else:
                tokens.append(_Token("term", start + 1, word))
    return tokens


class _Parser:
    """Recursive descent over the tokens; collects distinct terms as it goes."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.terms: list[str] = []

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> _Node:
        node = self.or_()
        extra = self.peek()
        if extra is not None:
            # Only a ")" can stop the descent early.
            raise QueryError(_('The ")" at character %(pos)d has no matching "(".'), pos=extra.pos)
        return node

    def or_(self, after: _Token | None = None) -> _Node:
        children = [self.and_(after)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.i += 1
            children.append(self.and_(after=token))
        return children[0] if len(children) == 1 else _Or(tuple(children))

    def and_(self, after: _Token | None = None) -> _Node:
        children = [self.not_(after)]
        while (token := self.peek()) is not None and token.kind in ("AND", "NOT", "term", "("):
            if token.kind == "AND":
                self.i += 1
                children.append(self.not_(after=token))
            else:
                children.append(self.not_())
        return children[0] if len(children) == 1 else _And(tuple(children))

    def not_(self, after: _Token | None = None) -> _Node:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.i += 1
            return _Not(self.not_(after=token))
        return self.atom(after)

    def atom(self, after: _Token | None) -> _Node:
        token = self.peek()
        if token is None or token.kind in ("AND", "OR", ")"):
            raise _missing_term(token, after)
        self.i += 1
        if token.kind == "(":
            node = self.or_(after=token)
            close = self.peek()
            if close is None:
                raise QueryError(_('The "(" at character %(pos)d is never closed.'), pos=token.pos)
            self.i += 1  # or_ only stops early at ")"
            return node
        return _Term(self.term_index(token))

    def term_index(self, token: _Token) -> int:
        term = normalise(token.text)
        if not term:
            shown = f'"{token.text}"' if token.text.strip() else "The empty phrase"
            raise QueryError(
                _("%(term)s at character %(pos)d has no letters or digits to search for."),
                term=shown,
                pos=token.pos,
            )
        if term not in self.terms:
            self.terms.append(term)
        return self.terms.index(term)


def _missing_term(token: _Token | None, after: _Token | None) -> QueryError:
    """Explain why a term was expected here, naming the operator or bracket that wants it."""
    if after is not None and after.kind in _OPERATORS:
        if token is None:
            return QueryError(
                _('"%(op)s" at character %(pos)d needs a term after it.'),
                op=after.kind,
                pos=after.pos,
            )
        return QueryError(
            _('"%(op)s" at character %(pos)d needs a term after it, but "%(next)s" follows.'),
            op=after.kind,
            pos=after.pos,
            next=token.kind,
        )
    if after is not None and after.kind == "(" and token is not None and token.kind == ")":
        return QueryError(_("The parentheses at character %(pos)d are empty."), pos=after.pos)
    if token is None:
        if after is not None:
            return QueryError(_('The "(" at character %(pos)d is never closed.'), pos=after.pos)
        return QueryError(_("The query is empty."))
    if token.kind == ")":
        return QueryError(_('The ")" at character %(pos)d has no matching "(".'), pos=token.pos)
    return QueryError(
        _('"%(op)s" at character %(pos)d needs a term before it.'), op=token.kind, pos=token.pos
    )


MAX_QUERY_LENGTH = 1_000


def parse(text: str) -> Query:
    """Parse an include query; raise QueryError with a readable message if it is malformed."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(_("The query is longer than %(n)d characters."), n=MAX_QUERY_LENGTH)
    parser = _Parser(_tokenise(text))
    try:
        root = parser.parse()
    except RecursionError:
        raise QueryError(_("The query is nested too deeply.")) from None
    return Query(text, root, parser.terms)


def exclude_query(phrases: Iterable[str]) -> Query | None:
    """One OR query of the exclude phrases, each as an exact (normalised) phrase."""
    terms = [normalise(p) for p in phrases]
    quoted = [f'"{t}"' for t in terms if t]
    return parse(" OR ".join(quoted)) if quoted else None
