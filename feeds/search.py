"""Search over papers: PostgreSQL full-text search (title weighs more than abstract), phrases,
exclusions, OR and `author:`; a substring scan of recent papers for Chinese and other text
full-text search cannot split; highlighted titles and snippets.

Full-text search wants every word of the query; a question in plain words ("can you run an
LLM on a Raspberry Pi at the network edge?") rarely has all of them in one paper. When all
the words find (almost) nothing, the papers holding most of them follow (`papers_with_most`):
ranked by how many of the query's words they hold, rare words weighing more."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import reduce
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import (
    Case,
    F,
    Func,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from feeds.labels import display_text
from feeds.models import Paper
from feeds.selectors import PaperFilters, papers_for_display

SEARCH_PAGE_SIZE = 20
# Full-text matches are ranked among the most recent this many; it bounds the work of
# ranking (ts_rank reads every candidate's vector) whatever the query.
SEARCH_CANDIDATES = 200
# Substring and author searches have no index to use: they read only the most recent papers
# (from the day of the SEARCH_SCAN_WINDOW-th newest on), newest first.
SEARCH_SCAN_WINDOW = 20_000

# When all of a query's words find fewer papers than this, the papers holding most of its words
# follow them (`papers_with_most`), for a query of two words or more written without search
# syntax (quotes, -exclusions, OR: the reader said what they want then).
ANY_WORDS_BELOW = 3
# A paper holding some of the words must hold at least this share of their weight: each word
# weighs ln(1 + n / candidates holding it) among the n candidates (rare words weigh more; a
# word no paper holds weighs nothing). On the bundled samples, of the papers holding a word
# of "can you run an LLM on a Raspberry Pi at the network edge?", two hold half their weight:
# LLM, Raspberry, Pi, network, edge (the paper asked for) and Raspberry, Pi, network.
ANY_WORDS_SHARE = 0.5
# The newest papers holding each word that are weighed (see `papers_with_most`): every paper
# holding a rare word, the recent ones holding a common word.
ANY_WORDS_EACH = 100
# Words of a plain-language question that say nothing about its subject, beyond PostgreSQL's
# English stop words (which already hold how, what, why, can, does, ...): they do not count
# when looking for the papers holding most of the words.
_QUESTION_TEXT = """
anyone anything better best could done get gets good help kind know like make makes many much
possible really someone something tell thing things us use used using way ways well whether whose
work works would
"""
QUESTION_WORDS = frozenset(_QUESTION_TEXT.split())
# Search syntax: quotes, an exclusion, OR (in capitals: see `parse_search`).
_SYNTAX = re.compile(r'"|(?:^|\s)-\w|(?:^|\s)OR(?:\s|$)')
# A lower-case "or" between words: websearch_to_tsquery would read it as OR, so "curves or
# functions" found every paper about functions.
_NATURAL_OR = re.compile(r"(?<!\S)or(?!\S)")

# Markers ts_headline puts around hits. Control characters: no real text has them, and a
# feed that smuggled some in could at worst add a balanced, harmless <mark> (headline_html).
HL_START = "\x02"
HL_STOP = "\x03"
# ts_headline's parser drops anything that looks like an HTML tag; the text is plain, so
# angle brackets are swapped for these before and restored (then escaped) after.
_LT = "\x04"
_GT = "\x05"

_CJK = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff00-\uffef]"
)
_AUTHOR_TERM = re.compile(r'(?i)\bauthor:(?:"([^"]*)"|(\S+))')
# A query that could be a person's name: one to four words of letters ("Lambiase", "Gaetano
# Lambiase", "O'Neil", "J.-P. Sartre"), no digits, quotes or operators. When its words find
# no paper it is looked for among the authors' names, as `author:` would.
_NAME_QUERY = re.compile(r"[^\W\d_][\w.'’-]*(?: [^\W\d_][\w.'’-]*){0,3}")


def headline_html(raw: str) -> SafeString:
    """A ts_headline result as safe HTML: everything escaped, only the hit markers become <mark>.

    ts_headline copies the document verbatim, so its output is feed text and must be escaped
    like any other; the markers are control characters that survive escaping unchanged.
    """
    out: list[str] = []
    open_mark = False
    for part in re.split(f"([{HL_START}{HL_STOP}])", raw or ""):
        if part == HL_START:
            if not open_mark:
                out.append("<mark>")
                open_mark = True
        elif part == HL_STOP:
            if open_mark:
                out.append("</mark>")
                open_mark = False
        elif part:
            part = part.replace(_LT, "<").replace(_GT, ">")
            out.append(str(escape(display_text(part))))
    if open_mark:
        out.append("</mark>")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text above went through escape()


# A snippet cut inside a word is widened to the whole word by at most this many characters
# each way ("circuit" → "circuit-level"); a longer run (a URL, a formula) is cut as it was.
WORD_REACH = 40
# ts_headline's FragmentDelimiter (search_page).
_FRAGMENTS = " … "


def _in_word(char: str) -> bool:
    # Chinese and Japanese text has no spaces: each character is a word of its own there.
    return not char.isspace() and not _CJK.match(char)


def word_span(
    text: str, start: int, end: int, *, keep: tuple[int, int] | None = None
) -> tuple[int, int]:
    """`start` and `end` moved so that `text[start:end]` neither begins nor ends inside a word
    (a span's bounds; `feeds.labels.whole_words` trims a text a feed cut instead),
    a hyphenated compound ("fault-tolerant") being one word: widened by at most WORD_REACH
    characters each way, else narrowed to leave the cut word out, but never into
    `text[keep[0]:keep[1]]` (the hit); left as they were when neither is possible."""
    keep_start, keep_end = keep if keep is not None else (end, start)

    def splits(i: int) -> bool:
        return 0 < i < len(text) and _in_word(text[i - 1]) and _in_word(text[i])

    if splits(start):
        left = start
        while splits(left) and start - left < WORD_REACH:
            left -= 1
        if splits(left):
            left = start
            while splits(left) and left < min(keep_start, end):
                left += 1
        start = left if not splits(left) else start
    if splits(end):
        right = end
        while splits(right) and right - end < WORD_REACH:
            right += 1
        if splits(right):
            right = end
            while splits(right) and right > max(keep_end, start):
                right -= 1
        end = right if not splits(right) and right > start else end
    return start, end


def _fragment_whole_words(fragment: str, abstract: str) -> str:
    """A ts_headline fragment, which may begin or end inside a hyphenated word ("tolerant
    quantum …", "… under circuit"), with the rest of those words taken from the abstract."""
    plain = fragment.translate(
        {ord(HL_START): None, ord(HL_STOP): None, ord(_LT): "<", ord(_GT): ">"}
    )
    at = abstract.find(plain) if plain.strip() else -1
    if at < 0:
        return fragment
    start, end = word_span(abstract, at, at + len(plain), keep=(at, at + len(plain)))
    return abstract[start:at] + fragment + abstract[at + len(plain) : end]


def _snippet_html(raw: str, abstract: str) -> SafeString:
    """A ts_headline snippet in whole words, with "…" where it starts or ends inside the
    abstract."""
    raw = _FRAGMENTS.join(_fragment_whole_words(f, abstract) for f in raw.split(_FRAGMENTS))
    plain = " ".join(
        raw.translate(
            {ord(HL_START): None, ord(HL_STOP): None, ord(_LT): "<", ord(_GT): ">"}
        ).split()
    )
    whole = " ".join(abstract.split())
    prefix = "" if whole.startswith(plain[:40]) else "… "
    suffix = "" if whole.endswith(plain[-40:]) else " …"
    return mark_safe(prefix + headline_html(raw) + suffix)  # noqa: S308 - escaped in headline_html


def substring_headline(text: str, needle: str, *, width: int = 110) -> SafeString:
    """A window of `text` around the first hit of `needle`, escaped, every hit in <mark>."""
    text = display_text(text)
    if not needle:
        return mark_safe(str(escape(text[: 2 * width])))  # noqa: S308 - escaped
    first = text.casefold().find(needle.casefold())
    if first < 0 or len(text.casefold()) != len(text):
        start, end = 0, min(len(text), 2 * width)
        hit = (0, 0)
    else:
        start, end = max(0, first - width), min(len(text), first + len(needle) + width)
        hit = (first, first + len(needle))
    start, end = word_span(text, start, end, keep=hit)
    window = text[start:end].strip()
    # Put the markers around each hit, then let headline_html escape the text and mark hits.
    pieces: list[str] = []
    last = 0
    for match in re.finditer(re.escape(needle), window, flags=re.IGNORECASE):
        pieces.append(window[last : match.start()])
        pieces.append(HL_START + match.group(0) + HL_STOP)
        last = match.end()
    pieces.append(window[last:])
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(prefix + headline_html("".join(pieces)) + suffix)  # noqa: S308 - escaped


def parse_search(q: str, author: str = "") -> tuple[str, str]:
    """Split a query into its text and an author name (`author:Name`, `author:"A Name"`). A
    lower-case "or" is a word of the question ("curves or functions"), not the operator OR."""
    names = [author.strip()] if author.strip() else []
    for match in _AUTHOR_TERM.finditer(q):
        names.append((match.group(1) or match.group(2) or "").strip())
    text = _NATURAL_OR.sub(" ", _AUTHOR_TERM.sub(" ", q))
    return " ".join(text.split())[:300], " ".join(n for n in names if n)[:200]


def is_cjk(text: str) -> bool:
    """Whether the text has Chinese, Japanese or Korean characters (no English stemming then)."""
    return bool(_CJK.search(text))


class _Replace(Func):
    function = "replace"
    output_field = TextField()


def _brackets_hidden(field_name: str) -> Func:
    return _Replace(_Replace(F(field_name), Value("<"), Value(_LT)), Value(">"), Value(_GT))


def _query_words(text: str) -> tuple[bool, list[str]]:
    """Whether the query has no word full-text search can match (only stop words or
    punctuation), and its words that say what it is about, as written, one per lexeme: stop
    words, QUESTION_WORDS and single letters left out, a hyphenated word as its parts."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT numnode(websearch_to_tsquery('english', %s)),"
            " ARRAY(SELECT ARRAY[token, lexemes[1]] FROM ts_debug('english', %s)"
            " WHERE alias NOT IN ('asciihword', 'hword', 'numhword') AND lexemes <> '{}')",
            [text, text],
        )
        row = cursor.fetchone()
    if not row or row[0] == 0:
        return True, []
    words: dict[str, str] = {}
    for token, lexeme in row[1] or []:
        if len(lexeme) > 1 and token.casefold() not in QUESTION_WORDS:
            words.setdefault(lexeme, token)
    return False, list(words.values())


def _any_query(words: Sequence[str], search_type: str = "phrase") -> SearchQuery:
    """A query matching a paper that holds any of `words` (each a word or a phrase; with
    `search_type` "plain", a phrase's words anywhere)."""
    queries = [SearchQuery(word, search_type=search_type, config="english") for word in words]
    return reduce(lambda a, b: a | b, queries)


def papers_with_most(
    words: Sequence[Sequence[str]], papers: QuerySet[Paper], *, limit: int = SEARCH_CANDIDATES
) -> list[tuple[int, list[str]]]:
    """Of `papers`, those holding at least ANY_WORDS_SHARE of the weight of `words`, best
    first, with the words each holds (by their first spelling). Each word is given as its
    spellings (a word or phrase and its variants: ["black hole", "black holes"]); a paper holds
    it when it holds any of them. The more of the words, rare ones weighing more (see
    ANY_WORDS_SHARE, counted among the candidates), then by ts_rank_cd, then newest: a paper
    holding all of them comes first. One query; the candidates are the newest ANY_WORDS_EACH
    papers holding each word, so a common word ("network" in a million papers) costs no more
    than a rare one."""
    words = [list(spellings) for spellings in words if spellings]
    if not words:
        return []
    one = "phraseto_tsquery('english', %s)"
    each = ["(" + " || ".join([one] * len(spellings)) + ")" for spellings in words]
    held = ", ".join(f"(p.search_vector @@ {query})::int AS m{i}" for i, query in enumerate(each))
    df = ", ".join(f"sum(m{i}) OVER () AS d{i}" for i in range(len(words)))
    weight = ", ".join(
        f"CASE WHEN d{i} > 0 THEN ln(1 + n::float8 / d{i}) ELSE 0 END AS w{i}"
        for i in range(len(words))
    )
    score = " + ".join(f"m{i} * w{i}" for i in range(len(words)))
    total = " + ".join(f"w{i}" for i in range(len(words)))
    spellings = [spelling for group in words for spelling in group]
    # The candidates: for each word, the newest ANY_WORDS_EACH papers holding it (each a
    # bounded index scan, however common the word), together. A phrase's words are looked
    # for anywhere here (its exact order is checked in `held`): PostgreSQL estimates a phrase
    # as common as its rarest word is not, and read a million rows newest first for
    # "graph neural network" (2.5 s) where the index holds the few hundred.
    candidates: list[str] = []
    candidate_params: list[Any] = []
    for group in words:
        sub, sub_params = (
            papers.filter(search_vector=_any_query(group, search_type="plain"))
            .order_by("-announced", "-id")
            .values("id")[:ANY_WORDS_EACH]
            .query.sql_with_params()
        )
        candidates.append(f"({sub})")
        candidate_params += sub_params
    table = Paper._meta.db_table
    sql = (
        f"WITH candidates AS ({' UNION '.join(candidates)}),"
        f" hits AS (SELECT p.id, p.announced, p.search_vector, {held} FROM {table} AS p"
        " WHERE p.id IN (SELECT id FROM candidates)),"
        f" counted AS (SELECT hits.*, count(*) OVER () AS n, {df} FROM hits),"
        f" weighed AS (SELECT counted.*, {weight} FROM counted)"
        f" SELECT id, {', '.join(f'm{i}' for i in range(len(words)))} FROM weighed"
        f" WHERE {score} >= %s * ({total}) - 1e-9"
        f" ORDER BY {score} DESC, ts_rank_cd(search_vector, {' || '.join(each)}) DESC,"
        " announced DESC, id LIMIT %s"
    )
    params = [*candidate_params, *spellings, ANY_WORDS_SHARE, *spellings, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [(row[0], [w[0] for w, m in zip(words, row[1:], strict=True) if m]) for row in rows]


class _ArrayToString(Func):
    function = "array_to_string"
    output_field = TextField()


@dataclass
class SearchResult:
    """One page of search results, each paper with its highlighted title and snippet."""

    papers: Sequence[Paper]
    titles: dict[int, SafeString]
    snippets: dict[int, SafeString]
    has_more: bool
    mode: str  # "fulltext", "substring", "author" or "" (nothing asked)
    # Substring and author searches: the oldest day read, when older papers were left out.
    scanned_since: date | None = None


@dataclass
class SearchHits:
    """The ids of every paper a query finds (at most SEARCH_CANDIDATES), best first."""

    ids: list[int]
    mode: str  # as SearchResult.mode
    text: str  # the query's words, without `author:` terms
    author: str  # the author asked for, in the field or as `author:` terms
    fulltext: bool  # ranked by PostgreSQL full-text search (else substring or author)
    scanned_since: date | None = None
    # Nothing held the words, which could be a name: these are the papers of the authors so
    # named (`author` is the text then, mode "author").
    by_name: bool = False
    # The papers that hold only some of the query's words (after those holding all of them:
    # see ANY_WORDS_BELOW), with the words each holds as the query wrote them.
    some_words: dict[int, list[str]] = field(default_factory=dict)
    # The query's words that were looked for one by one then (highlighted in those papers).
    words: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        """No paper holds all the words; some hold part of them."""
        return bool(self.ids) and len(self.some_words) == len(self.ids)


def recent_since(filters: PaperFilters) -> date | None:
    """The day of the SEARCH_SCAN_WINDOW-th newest paper these filters keep (the oldest day a
    scan without an index reads), or None when they keep fewer papers than that."""
    days = (
        filters.apply(Paper.objects.all())
        .order_by("-announced")
        .values_list("announced", flat=True)[SEARCH_SCAN_WINDOW : SEARCH_SCAN_WINDOW + 1]
    )
    return next(iter(days), None)


def search_hits(*, q: str, author: str = "", filters: PaperFilters | None = None) -> SearchHits:
    """Papers matching `q` (full text, or substring for CJK / stop-word-only queries) and author,
    best first: by full-text rank among the most recent matches, else newest first. A query
    whose words find nothing but could be a name finds the papers of the authors so named."""
    filters = filters or PaperFilters()
    text, author = parse_search(display_text(q), display_text(author))
    if not text and not author:
        return SearchHits([], "", "", "", fulltext=False)
    hits = _search_hits(text, author, filters)
    if (hits.ids and not hits.partial) or author or is_cjk(text) or not _NAME_QUERY.fullmatch(text):
        return hits
    # No paper holds all the words (perhaps some of them), and they could be a name: the
    # papers of authors so named (the scan `author:` makes, only for such a query).
    named = _search_hits("", text, filters)
    if not named.ids:
        return hits
    return SearchHits(
        named.ids, "author", text, text, False, scanned_since=named.scanned_since, by_name=True
    )


def _with_author(papers: QuerySet[Paper], author: str) -> QuerySet[Paper]:
    return papers.annotate(author_text=_ArrayToString(F("authors"), Value(" "))).filter(
        author_text__icontains=author
    )


def _search_hits(text: str, author: str, filters: PaperFilters) -> SearchHits:
    papers = filters.apply(Paper.objects.all())
    if author:
        papers = _with_author(papers, author)

    empty, words = _query_words(text) if text and not is_cjk(text) else (True, [])
    if not empty:
        query = SearchQuery(text, search_type="websearch", config="english")
        candidates = (
            papers.filter(search_vector=query)
            .order_by("-announced", "id")
            .values("id")[:SEARCH_CANDIDATES]
        )
        ranked = list(
            Paper.objects.filter(id__in=candidates)
            # ts_rank's default weights (A 1.0, B 0.4) rank a title hit above an abstract hit.
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "-announced", "id")
            .values_list("id", flat=True)
        )
        some: dict[int, list[str]] = {}
        if len(ranked) < ANY_WORDS_BELOW and len(words) > 1 and not _SYNTAX.search(text):
            held = set(ranked)
            found = papers_with_most([[word] for word in words], papers)
            some = {pid: have for pid, have in found if pid not in held}
            ranked += list(some)
        return SearchHits(
            ranked, "fulltext", text, author, fulltext=True, some_words=some, words=words
        )

    # No index serves a substring or author match: read only the most recent papers, newest
    # first, so a query that matches nothing still stops after SEARCH_SCAN_WINDOW rows.
    since = recent_since(filters)
    if since:
        papers = papers.filter(announced__gte=since)
    if text:
        # Chinese, Japanese and Korean have no case: a plain LIKE is several times faster.
        lookup = "contains" if is_cjk(text) else "icontains"
        papers = papers.filter(Q(**{f"title__{lookup}": text}) | Q(**{f"abstract__{lookup}": text}))
    ids = list(papers.order_by("-announced", "id").values_list("id", flat=True)[:SEARCH_CANDIDATES])
    return SearchHits(
        ids,
        "substring" if text else "author",
        text,
        author,
        fulltext=False,
        scanned_since=since,
    )


def author_named(paper: Paper, name: str) -> str:
    """The paper's author whose name holds `name` (as the search matched it), else `name`."""
    folded = name.casefold()
    return next((a for a in paper.authors if folded in a.casefold()), name)


def _headlines(query: SearchQuery) -> dict[str, SearchHeadline]:
    hl: dict[str, Any] = {"config": "english", "start_sel": HL_START, "stop_sel": HL_STOP}
    return {
        "title_hl": SearchHeadline(_brackets_hidden("title"), query, highlight_all=True, **hl),
        "snippet_hl": SearchHeadline(
            _brackets_hidden("abstract"),
            query,
            max_words=45,
            min_words=20,
            max_fragments=2,
            fragment_delimiter=_FRAGMENTS,
            **hl,
        ),
    }


def search_page(
    ids: Sequence[int],
    *,
    text: str,
    fulltext: bool,
    highlight: bool = True,
    words: Sequence[str] = (),
    partial: Collection[int] = (),
) -> tuple[list[Paper], dict[int, SafeString], dict[int, SafeString]]:
    """These papers in this order, ready for display, with their titles and snippets
    highlighted where `text` occurs (empty without `highlight` or without text); in the
    `partial` papers (holding only some of the words), where any of `words` occurs."""
    papers = papers_for_display(Paper.objects.filter(id__in=ids))
    headlines: dict[str, Any] = {}
    if highlight and text and fulltext:
        headlines = _headlines(SearchQuery(text, search_type="websearch", config="english"))
        some = [pid for pid in ids if pid in partial]
        if words and some:
            any_of = _headlines(_any_query(words))
            headlines = {
                name: Case(
                    When(id__in=some, then=any_of[name]),
                    default=headline,
                    output_field=TextField(),
                )
                for name, headline in headlines.items()
            }
    by_id = {p.id: p for p in papers.annotate(**headlines)}
    rows: list[Any] = [by_id[i] for i in ids if i in by_id]
    if not highlight or not text:
        return rows, {}, {}
    if fulltext:
        titles = {p.id: headline_html(p.title_hl) for p in rows}
        snippets = {p.id: _snippet_html(p.snippet_hl, p.abstract) for p in rows}
    else:
        titles = {p.id: substring_headline(p.title, text, width=10_000) for p in rows}
        snippets = {p.id: substring_headline(p.abstract, text) for p in rows}
    return rows, titles, snippets


def search_papers(
    *,
    q: str,
    author: str = "",
    filters: PaperFilters | None = None,
    page: int = 1,
    page_size: int = SEARCH_PAGE_SIZE,
    highlight: bool = True,
) -> SearchResult:
    """One page of the papers matching `q` and `author` (see `search_hits`).

    Without `highlight`, `titles` and `snippets` stay empty and no headline is computed.
    """
    hits = search_hits(q=q, author=author, filters=filters)
    offset = (max(page, 1) - 1) * page_size
    chosen = hits.ids[offset : offset + page_size]
    papers, titles, snippets = search_page(
        chosen,
        text=hits.text,
        fulltext=hits.fulltext,
        highlight=highlight,
        words=hits.words,
        partial=hits.some_words,
    )
    return SearchResult(
        papers=papers,
        titles=titles,
        snippets=snippets,
        has_more=len(hits.ids) > offset + page_size,
        mode=hits.mode,
        scanned_since=hits.scanned_since,
    )
