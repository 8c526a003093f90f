"""The words of a radar's description found in a paper, scored with BM25: the lexical half of
hybrid matching (the other half is closeness in meaning, `radar.profiles`).

Pure: no Django, no database. A paper's words are its normalised title and abstract
(`radar.query.normalise`) cut into tokens: stop words, single letters and bare numbers left out, plurals made singular.
How rare a word is (its IDF) comes from `WordStats`, counted over a reference set of papers
(the newest few thousand, `radar.profiles.word_stats`), so a batch of three papers scores
the same as a day of five thousand.

BM25 grows without bound with more matched words; `saturate` maps it to 0..1 (half way at
WORDS_HALF), the share of the words part of a match's score (`radar.scoring`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np
from numpy.typing import NDArray

from radar.crosslingual import english_terms

__all__ = [
    "STOPWORDS",
    "Postings",
    "WordStats",
    "bm25_index",
    "bm25_postings",
    "description_words",
    "runs",
    "saturate",
    "tfidf_index",
    "tfidf_mean",
    "tokens",
]

BM25_K1 = 1.2
BM25_B = 0.75
# The BM25 score that earns half of the words part: about two uncommon words of the
# description in a paper, or one rare one several times.
WORDS_HALF = 10.0

# English stop words, with the commonest words of abstracts and of descriptions ("I am
# interested in papers about ...").
# fmt: off
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "of", "in", "on", "for", "to", "with", "by", "from", "at", "as",
    "is", "are", "was", "were", "be", "been", "being", "this", "that", "these", "those", "it",
    "its", "into", "than", "then", "there", "their", "which", "who", "whom", "what", "when",
    "where", "how", "we", "our", "us", "they", "them", "can", "may", "might", "will", "would",
    "should", "could", "not", "no", "nor", "but", "also", "such", "via", "using", "use", "used",
    "based", "new", "paper", "study", "work", "show", "shows", "shown", "propose", "proposed",
    "present", "approach", "method", "methods", "result", "results", "about", "between", "over",
    "under", "both", "each", "other", "more", "most", "some", "any", "all", "one", "two", "i",
    "am", "me", "my", "interested", "interest", "papers", "like", "especially", "including",
    "has", "have", "had", "having", "do", "does", "did", "if", "so", "very", "much", "many",
    "only", "just", "even", "still", "yet", "here", "why", "you", "your", "without", "within",
    "rather", "whether", "while", "during", "through", "across", "toward", "towards", "among",
    "upon", "etc", "eg", "ie", "want", "find", "looking", "know",
})
# fmt: on
_TOKEN = re.compile(r"[a-z0-9]+")


# Each word's token ("" for a stop word), remembered: a day's papers repeat their words.
_FORMS: dict[str, str] = {}
_FORMS_MAX = 500_000


# Plurals in -ies, -ches, -xes that are not made by adding "es" to a word in -y, -ch, -x.
_PLURAL_KEPT = frozenset(
    {
        "series",
        "species",
        "movies",
        "cookies",
        "caches",
        "niches",
        "avalanches",
        "headaches",
        "cliches",
        "axes",
    }
)


def _singular(word: str) -> str:
    """A plural's singular, by spelling: studies → study, approaches → approach, processes →
    process, models → model; status, analysis, debris and class stay as they are."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word in _PLURAL_KEPT:
        return word[:-1]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    return word[:-1]


def _form(word: str) -> str:
    # A stop word, a single letter ("e.g." gives "e" and "g") or a bare number is no word.
    form = "" if word in STOPWORDS or len(word) == 1 or word.isdigit() else _singular(word)
    if len(_FORMS) >= _FORMS_MAX:
        _FORMS.clear()
    _FORMS[word] = form
    return form


def tokens(text: str) -> list[str]:
    """English tokens of lower-case text: stop words, single letters and bare numbers left
    out, plurals made singular (`_singular`)."""
    words = _TOKEN.findall(text.lower())
    forms = list(map(_FORMS.get, words))  # C speed; None for a word not seen yet
    if None in forms:
        forms = [_FORMS[w] if w in _FORMS else _form(w) for w in words]
    return list(filter(None, forms))


@dataclass(frozen=True, slots=True)
class WordStats:
    """Document frequencies over a reference set of papers, for IDF and document length."""

    docs: int
    df: Mapping[str, int]
    average_length: float

    @classmethod
    def count(cls, texts: Iterable[str]) -> WordStats:
        """The statistics of these paper texts (title and abstract, normalised)."""
        df: Counter[str] = Counter()
        docs = total = 0
        for text in texts:
            words = tokens(text)
            df.update(set(words))
            docs += 1
            total += len(words)
        return cls(docs=docs, df=dict(df), average_length=total / docs if docs else 1.0)

    def idf(self, word: str) -> float:
        """BM25's IDF; a word no reference paper has counts as rare as a word in one."""
        count = self.df.get(word, 1)
        return math.log(1 + (self.docs - count + 0.5) / (count + 0.5))


@dataclass(frozen=True, slots=True)
class Postings:
    """Each word's BM25 share in each text of a batch holding it, word by word.

    The texts holding the word in row `rows[word]` are `positions[starts[row]:starts[row + 1]]`
    (ascending), with the word's shares there beside them: the compressed sparse rows of a
    word x text matrix of `texts` columns.
    """

    rows: Mapping[str, int]
    texts: int
    starts: NDArray[np.int64]
    positions: NDArray[np.int64]
    shares: NDArray[np.float64]

    def gather(
        self, rows: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """The postings of `rows` (repeats allowed), row after row: for each posting, the
        index in `rows` it belongs to, its text and its share."""
        first = self.starts[rows]
        owner, at = runs(first, self.starts[rows + 1] - first)
        return owner, self.positions[at], self.shares[at]

    def contains(self, rows: NDArray[np.int64], positions: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Whether text `positions[i]` holds the word of row `rows[i]`, for each i."""
        if not len(self.positions):
            return np.zeros(len(rows), dtype=np.bool_)
        # row * texts + position ascends over the whole matrix: one sorted search finds all.
        row_of = np.repeat(np.arange(len(self.starts) - 1), np.diff(self.starts))
        keys = row_of * self.texts + self.positions
        wanted = rows * self.texts + positions
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        held: NDArray[np.bool_] = keys[at] == wanted
        return held


def runs(
    first: NDArray[np.int64], counts: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The runs first[i], first[i] + 1, ... (counts[i] of them) one after the other: for each
    index, the run it belongs to, and the index."""
    owner = np.repeat(np.arange(len(first)), counts)
    # The k-th index of run i is first[i] + k, and run i starts at sum(counts[:i]).
    run_starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) + (first - run_starts)[owner]


def bm25_index(
    texts: Sequence[str],
    words: Iterable[str],
    stats: WordStats,
    *,
    tokenised: Sequence[list[str]] | None = None,
) -> Postings:
    """The BM25 postings of `words` over `texts` (their `tokens`, when already cut): one pass
    over the batch serves every radar (a radar's BM25 score on a text is the sum of its words'
    shares there)."""
    rows = {word: row for row, word in enumerate(set(words))}
    n = len(texts)
    per_text = tokenised if tokenised is not None else [tokens(text) for text in texts]
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=n)
    flat = list(chain.from_iterable(per_text))
    row = np.fromiter(map(rows.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
    text = np.repeat(np.arange(n, dtype=np.int64), lengths)
    wanted = row >= 0
    # (row, text) pairs in row-major order, with how often the word is in the text.
    keys, tf = np.unique(row[wanted] * n + text[wanted], return_counts=True)
    row_at, positions = np.divmod(keys, n)
    idf = np.array([stats.idf(word) for word in rows], dtype=np.float64)
    average = max(stats.average_length, 1.0)
    norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[positions] / average)
    shares = idf[row_at] * tf * (BM25_K1 + 1) / (tf + norm)
    starts = np.searchsorted(row_at, np.arange(len(rows) + 1))
    return Postings(rows, n, starts.astype(np.int64), positions, shares)


def bm25_postings(
    texts: Sequence[str], words: Iterable[str], stats: WordStats
) -> dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """For each of `words` in some text: the positions of the texts containing it and its
    BM25 share there (`bm25_index` by word)."""
    index = bm25_index(texts, words, stats)
    found = {}
    for word, row in index.rows.items():
        first, last = index.starts[row], index.starts[row + 1]
        if first < last:
            found[word] = (index.positions[first:last], index.shares[first:last])
    return found


def tfidf_mean(texts: Sequence[str], stats: WordStats, keep: int) -> dict[str, float]:
    """The mean of these texts' unit tf-idf vectors (`tfidf_index` over all their words), its
    `keep` largest words only: what a set of papers has in common in words (the rest of the
    mean is each paper's own noise)."""
    tokenised = [tokens(text) for text in texts]
    index = tfidf_index(texts, set(chain.from_iterable(tokenised)), stats, tokenised=tokenised)
    words = list(index.rows)  # in row order
    row_of = np.repeat(np.arange(len(words)), np.diff(index.starts))
    total = np.bincount(row_of, weights=index.shares, minlength=len(words)) / max(len(texts), 1)
    top = sorted(zip(words, total.tolist(), strict=True), key=lambda item: (-item[1], item[0]))
    return dict(top[:keep])


def tfidf_index(
    texts: Sequence[str],
    words: Iterable[str],
    stats: WordStats,
    *,
    tokenised: Sequence[list[str]] | None = None,
) -> Postings:
    """The postings of `words` over `texts` (their `tokens`, when already cut) with each
    text's unit tf-idf weight as the share: a text's cosine to a `tfidf_mean` is the sum of the
    mean's values times these shares. A weight is (1 + log tf) x IDF, made unit over all of
    the text's words (not only `words`)."""
    rows = {word: row for row, word in enumerate(set(words))}
    n = len(texts)
    per_text = tokenised if tokenised is not None else [tokens(text) for text in texts]
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=n)
    ids: dict[str, int] = {}
    flat = np.fromiter(
        (ids.setdefault(word, len(ids)) for word in chain.from_iterable(per_text)),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    text = np.repeat(np.arange(n, dtype=np.int64), lengths)
    # (text, word) pairs with how often the word is in the text, and their tf-idf weights.
    keys, tf = np.unique(text * len(ids) + flat, return_counts=True)
    at_text, word = np.divmod(keys, max(len(ids), 1))
    idf = np.array([stats.idf(w) for w in ids], dtype=np.float64)
    weight = (1 + np.log(tf)) * idf[word]
    norm = np.sqrt(np.bincount(at_text, weights=weight**2, minlength=n))
    # The wanted words only, ordered by row (then text), as `bm25_index` orders them.
    row_of_id = np.full(len(ids), -1, dtype=np.int64)
    for w, i in ids.items():
        if w in rows:
            row_of_id[i] = rows[w]
    row_at = row_of_id[word]
    wanted = np.flatnonzero(row_at >= 0)
    order = wanted[np.lexsort((at_text[wanted], row_at[wanted]))]
    shares = weight[order] / norm[at_text[order]]
    starts = np.searchsorted(row_at[order], np.arange(len(rows) + 1)).astype(np.int64)
    return Postings(rows, n, starts, at_text[order], shares)


def saturate(score: NDArray[np.float64]) -> NDArray[np.float64]:
    """BM25 scores mapped to 0..1: half at WORDS_HALF."""
    return score / (score + WORDS_HALF)


def description_words(description: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """A radar's words: the tokens of its description, of the English terms the glossary
    gives for its Chinese (`radar.crosslingual`) and of `extra` English terms (the English
    profile's keywords), each once."""
    found: dict[str, None] = {}
    for text in (description, *english_terms(description), *extra):
        for word in tokens(text):
            found.setdefault(word, None)
    return tuple(found)
