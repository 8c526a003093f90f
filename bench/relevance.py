"""Relevance benchmark (issue 12): how well a radar written as a plain description finds papers.

Corpus: real recorded papers read from files in the repository, never the database or the
network: the bundled demo feeds (`feeds/demo_data/`: an arXiv RSS day of 1,504 papers from
every archive, a Nature RSS issue of 75 items, a bioRxiv day of 3 preprints) plus two recorded
arXiv API answers from `tests/fixtures/feeds/` (100 papers found by the query "testing", 10
condensed-matter papers of 2016), 1,692 papers in all. Each file goes through the product's
adapter (`feeds.sources.get_adapter(kind)` `.parse` / `.normalise`) and sanitiser, as
`feeds.pipeline.poll` stores papers.

Interests and judgements: `bench/relevance_judgements.json`, one entry per interest with an
English and a Chinese description, the relevant paper keys graded 2 (squarely on topic) or 1
(related), and a note on how the judgement was made. Judgements were made by narrowing
candidates with keyword searches over the corpus (and, for small fields, listing whole arXiv
categories), then reading the titles and abstracts; never by looking at what any ranking
below returns. Every paper not listed counts as not relevant.

Methods, each ranking the whole corpus for each interest and language:

- lexical: BM25 (k1 1.2, b 0.75) over title + abstract, the product's words part
  (`radar.words`): the description's English tokens, and for a Chinese description the
  English terms the bundled glossary gives (`radar.crosslingual`), plus any Latin words in
  it (LLM, GNN, EEG ...);
- embedding: cosine of the description alone embedded as a query against each paper's
  `paper_text` embedded as a passage (the product's embedder, `get_embedder()`);
- hybrid: what `/search` does with a query (`radar.search`): the lexical ranking and the
  ranking by cosine to the query embedded as a radar's description is (`description_vector`:
  for a Chinese query, with its glossary gloss; for an English one, the embedding ranking
  above), fused by `radar.search.hybrid_fuse` (reciprocal rank fusion, k = 60, the words
  weighing twice). `/search` fuses only the 50 closest papers above a floor, and its words
  are PostgreSQL full text; here both rankings are whole;
- current: what the product does for a radar with only a description, with the product's
  pure functions and without the database: the profile is `description_vector` (the mean of
  the description and its glossary gloss, as `radar.profiles.profile_for` makes it), the band
  is `band_for`'s arithmetic over the corpus's papers (its newest `BAND_SAMPLE`), and
  `radars_score_batch` (meaning + words in points, with the corpus's word statistics) keeps
  the papers reaching the default minimum score, ordered as `radar_window_score` orders them
  (score, then cosine). It scores every paper, as `radar_rescore` does. Fewer than 10 (or 50)
  matches leave empty slots, which count as misses (the number of matches per interest is
  printed);
- hybrid+LLM profile: "current" with the English profile `digests.understanding` gets for
  each description from a local OpenAI-compatible server (testkit) playing a faithful
  translator (see `llm_profiles`): its paraphrase joins the profile vector, its keywords the
  words. `--no-llm` leaves it out.

Metrics, averaged over interests: P@10 (papers graded 1 or 2 among the first ten), nDCG@10
(gain 2^grade - 1), recall@50 (of all papers graded 1 or 2). Ratios: hybrid / embedding
nDCG@10, and Chinese / English nDCG@10 per method.

Feedback gain: the corpus is split into two "days" by the last decimal digit of the paper
key (even: day 1, odd: day 2). On day 1 the simulated user looks at the first five matches
of the current radar and rates each 👍 if judged relevant, else 👎; the ratings are folded
into the profile with the product's arithmetic (`radar.profiles.profile_combine`: Rocchio,
the band recomputed), and for "current" the radar also learns from the 👍 papers as the
product does (`radar.profiles.likes_learned`: their primary categories and shared words, the
liked part of `radars_score_batch`'s score); P@10 is measured on day 2 before and after. Interests with
at least FEEDBACK_MIN relevant papers on each day take part. The ceiling of that arithmetic
is printed beside it: P@10 after every day-1 match (not five) is rated by its judgement; and
so is the best P@10 any ranking of day 2 could reach (every relevant paper first; an interest
with fewer than ten relevant papers that day cannot fill ten slots).

Paper embeddings (slow: about 5 papers/s per core) are cached in `var/bench-cache/` under a
hash of the embedder's name and the texts, so a rerun embeds nothing. `--json` prints the
figures as JSON; `--per-interest` adds each interest's nDCG@10.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academichub.settings")

import logging  # noqa: E402

import django  # noqa: E402

django.setup()
for _name in ("httpx", "httpx2"):
    logging.getLogger(_name).setLevel(logging.WARNING)

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from digests.understanding import understanding_ask  # noqa: E402
from feeds.pipeline.sanitise import paper_sanitise  # noqa: E402
from feeds.sources import get_adapter  # noqa: E402
from radar.embedding import get_embedder, paper_text  # noqa: E402
from radar.profiles import (  # noqa: E402
    BAND_ABOVE_MEDIAN,
    BAND_BELOW_MEDIAN,
    BAND_MIN_PAPERS,
    BAND_SAMPLE,
    description_combine,
    description_texts,
    likes_learned,
    profile_combine,
)
from radar.query import normalise  # noqa: E402
from radar.scoring import (  # noqa: E402
    DEFAULT_THRESHOLD,
    SIM_CEIL,
    SIM_FLOOR,
    PaperIn,
    RadarIn,
    radars_score_batch,
)
from radar.search import hybrid_fuse  # noqa: E402
from radar.words import WordStats, bm25_postings, description_words  # noqa: E402
from testkit.fake_llm import FakeLLM  # noqa: E402
from testkit.understanding_llm import answering_understanding, valid_profile  # noqa: E402

# (adapter kind, file): the recorded responses making up the corpus.
SOURCES = (
    ("arxiv_rss", "feeds/demo_data/arxiv-rss-2024-11-28.xml.gz"),
    ("rss", "feeds/demo_data/nature-rss-2024-07-18.rdf.gz"),
    ("biorxiv_api", "feeds/demo_data/biorxiv-2026-07-18.json"),
    ("arxiv_api", "tests/fixtures/feeds/arxiv-api-query-testing-100.atom"),
    ("arxiv_api", "tests/fixtures/feeds/arxiv-api-legacy-2016.atom"),
)
JUDGEMENTS = ROOT / "bench" / "relevance_judgements.json"
CACHE = ROOT / "var" / "bench-cache"
# The day the feeds are "fetched" (the sanitiser needs one; the dates play no part here).
FETCHED = date(2024, 11, 28)

LANGUAGES = ("en", "zh")
METHODS = ("lexical", "embedding", "hybrid", "current", "hybrid+LLM profile")
NOT_YET: dict[str, str] = {}
METRICS = ("P@10", "nDCG@10", "recall@50")
THRESHOLD = DEFAULT_THRESHOLD
FEEDBACK_RATED = 5
FEEDBACK_MIN = 5


@dataclass(frozen=True, slots=True)
class Paper:
    """A corpus paper: its key, where it came from, text, categories and authors."""

    key: str
    source: str
    title: str
    abstract: str
    categories: tuple[str, ...]
    authors: tuple[str, ...]
    primary_category: str = ""

    @property
    def day(self) -> int:
        """1 or 2: the parity of the last decimal digit of the key (even: day 1)."""
        digits = [c for c in self.key if c.isdigit()]
        return 1 if not digits or int(digits[-1]) % 2 == 0 else 2


@dataclass(frozen=True, slots=True)
class Interest:
    """One judged interest: descriptions by language and relevant paper keys with grades."""

    id: str
    field: str
    descriptions: dict[str, str]
    grades: dict[str, int]


Ranking = list[int]  # paper positions, best first (may be shorter than the corpus)
Vectors = NDArray[np.float32]


def corpus_load() -> list[Paper]:
    """Every paper of the recorded files, through the product's adapters and sanitiser."""
    papers: dict[str, Paper] = {}
    for kind, name in SOURCES:
        body = (ROOT / name).read_bytes()
        if name.endswith(".gz"):
            body = gzip.decompress(body)
        adapter = get_adapter(kind)
        for raw in adapter.parse(body).entries:
            clean = paper_sanitise(adapter.normalise(raw), fetched=FETCHED)
            if clean is not None and clean.key not in papers:
                papers[clean.key] = Paper(
                    key=clean.key,
                    source=Path(name).name,
                    title=clean.title,
                    abstract=clean.abstract,
                    categories=tuple(clean.categories),
                    authors=tuple(clean.authors),
                    primary_category=clean.primary_category,
                )
    return list(papers.values())


def interests_load(keys: set[str]) -> list[Interest]:
    """The judged interests; fails loudly on a key that is not in the corpus."""
    data = json.loads(JUDGEMENTS.read_text())
    interests = []
    for item in data["interests"]:
        grades = {key: int(grade) for key, grade in item["relevant"].items()}
        missing = sorted(set(grades) - keys)
        if missing:
            raise SystemExit(f"{item['id']}: keys not in the corpus: {missing}")
        interests.append(
            Interest(item["id"], item["field"], {"en": item["en"], "zh": item["zh"]}, grades)
        )
    return interests


def embed_cached(texts: list[str], kind: str) -> tuple[Vectors, bool]:
    """Embeddings of `texts` as `kind`, from the cache when there; (vectors, was cached)."""
    embedder = get_embedder()
    digest = hashlib.sha256("\x00".join([embedder.name, kind, *texts]).encode()).hexdigest()
    path = CACHE / f"relevance-{digest[:20]}.npy"
    if path.exists():
        vectors = np.load(path)
        if vectors.shape == (len(texts), embedder.dim):
            return vectors.astype(np.float32), True
    vectors = embedder.embed(texts, kind="query" if kind == "query" else "passage")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors, False


def described_vectors(
    descriptions: list[str], english: list[str] | None = None
) -> tuple[Vectors, bool]:
    """`radar.profiles.description_vector` of each description (with its English profile
    paraphrase when given), from the cache when there; (vectors, all were cached)."""
    texts = [
        description_texts(d, english[n] if english else "") for n, d in enumerate(descriptions)
    ]
    flat = [t for group in texts for t in group]
    vectors, cached = embed_cached(flat, "query")
    rows, at = [], 0
    for group in texts:
        row = description_combine(vectors[at : at + len(group)])
        assert row is not None
        rows.append(row)
        at += len(group)
    return np.stack(rows).astype(np.float32), cached


# --- Methods ---------------------------------------------------------------------------------


class BM25:
    """Okapi BM25 over title + abstract: the product's words part (`radar.words`) on its own."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.texts = [f"{normalise(p.title)} {normalise(p.abstract)}" for p in papers]
        self.stats = WordStats.count(self.texts)

    def scores(self, words: Sequence[str]) -> NDArray[np.float64]:
        """Every paper's BM25 score for these words."""
        total = np.zeros(len(self.texts), dtype=np.float64)
        for positions, shares in bm25_postings(self.texts, words, self.stats).values():
            total[positions] += shares
        return total

    def rank(self, words: Sequence[str]) -> Ranking:
        """Papers with a positive score, best first (none when no query word is known)."""
        scores = self.scores(words)
        order = np.argsort(-scores, kind="stable")
        return [int(i) for i in order if scores[i] > 0]


def cosine_rank(vectors: Vectors, profile: Vectors) -> Ranking:
    """All papers by cosine to the profile, closest first."""
    return [int(i) for i in np.argsort(-(vectors @ profile), kind="stable")]


def hybrid(lexical: Ranking, embedding: Ranking) -> Ranking:
    """The two rankings fused by the product's fusion (`radar.search.hybrid_fuse`)."""
    return hybrid_fuse(lexical, embedding)


def band(vectors: Vectors, profile: Vectors) -> tuple[float, float]:
    """`radar.profiles.band_for`'s arithmetic over these papers (the newest BAND_SAMPLE)."""
    recent = vectors[-BAND_SAMPLE:]
    if len(recent) < BAND_MIN_PAPERS:
        return SIM_FLOOR, SIM_CEIL
    median, p99 = (float(v) for v in np.percentile(recent @ profile, [50, 99]))
    spread = max(p99 - median, 0.01)
    return median - BAND_BELOW_MEDIAN * spread, median + BAND_ABOVE_MEDIAN * spread


def paper_views(papers: Sequence[Paper]) -> list[PaperIn]:
    """The scoring view of each paper, as `radar.matching._paper_in` builds it."""
    return [
        PaperIn(
            id=i,
            title_norm=normalise(p.title),
            abstract_norm=normalise(p.abstract),
            authors=tuple(normalise(a) for a in p.authors),
            categories=frozenset(p.categories),
            primary_category=p.primary_category,
        )
        for i, p in enumerate(papers)
    ]


def current_rank(
    views: list[PaperIn],
    vectors: Vectors,
    profiles: Vectors,
    words: Sequence[tuple[str, ...]],
    stats: WordStats,
    learned: Sequence[dict[str, dict[str, float]]] | None = None,
) -> list[Ranking]:
    """Per profile: the matches of a description-only radar (with what it learned from liked
    papers, `learned`, when given), ordered as the product orders."""
    radars = []
    for r, profile in enumerate(profiles):
        floor, ceil = band(vectors, profile)
        taught = learned[r] if learned else {}
        radars.append(
            RadarIn(
                id=r,
                threshold=THRESHOLD,
                sim_floor=floor,
                sim_ceil=ceil,
                words=words[r],
                liked_categories=taught.get("categories", {}),
                liked_words=taught.get("words", {}),
            )
        )
    found = radars_score_batch(views, radars, vectors, profiles, stats)
    cosines = vectors @ profiles.T
    rankings: list[list[tuple[float, float, int]]] = [[] for _ in radars]
    for match in found:
        p, r = match.paper_id, match.radar_id
        rankings[r].append((-match.score, -float(cosines[p, r]), p))
    return [[p for _s, _c, p in sorted(ranking)] for ranking in rankings]


# --- Metrics ---------------------------------------------------------------------------------


def precision_at(ranking: Ranking, grades: dict[int, int], k: int = 10) -> float:
    """Share of the first k slots holding a relevant paper (empty slots are misses)."""
    return sum(1 for i in ranking[:k] if grades.get(i, 0) > 0) / k


def ndcg_at(ranking: Ranking, grades: dict[int, int], k: int = 10) -> float:
    """nDCG@k with gain 2^grade - 1."""
    dcg = sum((2 ** grades.get(i, 0) - 1) / math.log2(r + 2) for r, i in enumerate(ranking[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**g - 1) / math.log2(r + 2) for r, g in enumerate(ideal))
    return dcg / best if best else 0.0


def recall_at(ranking: Ranking, grades: dict[int, int], k: int = 50) -> float:
    """Share of the relevant papers among the first k."""
    relevant = sum(1 for g in grades.values() if g > 0)
    found = sum(1 for i in ranking[:k] if grades.get(i, 0) > 0)
    return found / relevant if relevant else 0.0


def measure(ranking: Ranking, grades: dict[int, int]) -> dict[str, float]:
    """P@10, nDCG@10 and recall@50 of one ranking."""
    return {
        "P@10": precision_at(ranking, grades),
        "nDCG@10": ndcg_at(ranking, grades),
        "recall@50": recall_at(ranking, grades),
    }


def mean(rows: list[dict[str, float]]) -> dict[str, float]:
    """Metric-wise mean of per-interest figures."""
    return {m: float(np.mean([row[m] for row in rows])) for m in METRICS}


# --- Feedback --------------------------------------------------------------------------------


def profile_with_votes(description: Vectors, vectors: Vectors, votes: dict[int, int]) -> Vectors:
    """The profile after the ratings, by the product's arithmetic (`profile_combine`)."""
    liked = [vectors[i] for i, v in votes.items() if v > 0]
    disliked = [vectors[i] for i, v in votes.items() if v < 0]
    profile = profile_combine(description, liked, disliked)
    assert profile is not None
    return profile


def learned_from(
    papers: list[Paper], members: Sequence[int], votes: dict[int, int], stats: WordStats
) -> dict[str, dict[str, float]]:
    """What the radar learns from the 👍 papers among `votes` (positions within `members`),
    by the product's arithmetic (`radar.profiles.likes_learned`)."""
    liked = [papers[members[p]] for p, v in votes.items() if v > 0]
    return likes_learned([(p.title, p.abstract, p.primary_category) for p in liked], stats)


def rank_all(
    method: str,
    views: list[PaperIn],
    vectors: Vectors,
    profiles: Vectors,
    words: Sequence[tuple[str, ...]],
    stats: WordStats,
    learned: Sequence[dict[str, dict[str, float]]] | None = None,
) -> list[Ranking]:
    """One ranking per profile, by plain cosine ("embedding") or as the product does ("current",
    with what the radar `learned` from liked papers when given)."""
    if method == "current":
        return current_rank(views, vectors, profiles, words, stats, learned)
    return [cosine_rank(vectors, profile) for profile in profiles]


def local_grades(
    interest: Interest, index: dict[str, int], members: Sequence[int]
) -> dict[int, int]:
    """The interest's grades by position within a subset of the corpus."""
    local = {paper: n for n, paper in enumerate(members)}
    return {local[index[k]]: g for k, g in interest.grades.items() if index[k] in local}


def feedback_gain(
    papers: list[Paper],
    vectors: Vectors,
    interests: list[Interest],
    queries: dict[str, Vectors],
    words: dict[str, list[tuple[str, ...]]],
    stats: WordStats,
) -> dict[str, Any]:
    """P@10 on day 2 before and after rating five day-1 matches, by language and method."""
    index = {p.key: i for i, p in enumerate(papers)}
    chosen = []
    for n, interest in enumerate(interests):
        by_day = Counter(papers[index[key]].day for key in interest.grades)
        if min(by_day[1], by_day[2]) >= FEEDBACK_MIN:
            chosen.append(n)
    out: dict[str, Any] = {"interests": [interests[n].id for n in chosen], "by_language": {}}
    if not chosen:
        return out
    members = {d: [i for i, p in enumerate(papers) if p.day == d] for d in (1, 2)}
    views = {d: paper_views([papers[i] for i in members[d]]) for d in (1, 2)}
    vecs = {d: vectors[members[d]] for d in (1, 2)}
    grades = {d: [local_grades(interests[n], index, members[d]) for n in chosen] for d in (1, 2)}
    out["papers"] = {f"day {d}": len(members[d]) for d in (1, 2)}
    # The best a ranking of day 2 could do: every relevant paper first (fewer than ten
    # relevant papers leave empty slots, which count as misses).
    out["best P@10 on day 2"] = float(
        np.mean([min(10, sum(g > 0 for g in row.values())) / 10 for row in grades[2]])
    )
    for lang in LANGUAGES:
        before = queries[lang][chosen]
        chosen_words = [words[lang][n] for n in chosen]
        shown = current_rank(views[1], vecs[1], before, chosen_words, stats)
        after_rows, ceiling_rows = [], []
        taught: dict[str, list[dict[str, dict[str, float]]]] = {"after": [], "all": []}
        up = down = 0
        for row, ranking in enumerate(shown):
            votes = {p: 1 if grades[1][row].get(p, 0) > 0 else -1 for p in ranking[:FEEDBACK_RATED]}
            up += sum(v > 0 for v in votes.values())
            down += sum(v < 0 for v in votes.values())
            after_rows.append(profile_with_votes(before[row], vecs[1], votes))
            taught["after"].append(learned_from(papers, members[1], votes, stats))
            # The ceiling of the same arithmetic: every day-1 match rated, not five.
            every = {p: 1 if grades[1][row].get(p, 0) > 0 else -1 for p in ranking}
            ceiling_rows.append(profile_with_votes(before[row], vecs[1], every))
            taught["all"].append(learned_from(papers, members[1], every, stats))
        after, ceiling = np.stack(after_rows), np.stack(ceiling_rows)
        figures: dict[str, Any] = {"votes": {"up": up, "down": down}}
        for method in ("embedding", "current"):
            p_at = {}
            for label, profiles in (("before", before), ("after", after), ("all", ceiling)):
                rankings = rank_all(
                    method, views[2], vecs[2], profiles, chosen_words, stats, taught.get(label)
                )
                p_at[label] = float(
                    np.mean([precision_at(r, g) for r, g in zip(rankings, grades[2], strict=True)])
                )
            figures[method] = {
                "P@10 before": p_at["before"],
                "P@10 after": p_at["after"],
                "gain %": _gain(p_at["before"], p_at["after"]),
                "P@10 after every day-1 match rated": p_at["all"],
                "gain % every day-1 match rated": _gain(p_at["before"], p_at["all"]),
            }
        out["by_language"][lang] = figures
    return out


def _gain(before: float, after: float) -> float | None:
    return (after - before) / before * 100 if before else None


# --- Run -------------------------------------------------------------------------------------


def llm_profiles(interests: list[Interest]) -> dict[str, list[dict[str, Any]]]:
    """Each description's English profile from `digests.understanding.understanding_ask`,
    through a local OpenAI-compatible server (testkit), with the calls recorded in a
    throwaway test database.

    The server plays a faithful translator: for either language it answers with the
    interest's English description as the paraphrase and that description's words as the
    keywords (`testkit.understanding_llm.valid_profile`). So the figures show what a good
    model's profile adds, not what any real model writes.
    """
    english = {i.descriptions[lang]: i.descriptions["en"] for i in interests for lang in LANGUAGES}

    def answer(description: str) -> dict[str, Any]:
        text = english[description]
        return {"text": text, "keywords": valid_profile(text)["keywords"]}

    with connection.cursor() as cursor:
        name = connection.ops.quote_name(connection.settings_dict["TEST"]["NAME"])
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    server = answering_understanding(FakeLLM().start(), answer)
    settings.LLM_BASE_URL = server.base_url
    settings.LLM_API_KEY = "sk-bench"
    settings.LLM_MODEL = "bench-translator"
    settings.LLM_DAILY_TOKEN_BUDGET = 0
    try:
        return {
            lang: [understanding_ask(i.descriptions[lang]) for i in interests] for lang in LANGUAGES
        }
    finally:
        server.stop()
        teardown_databases(old_config, verbosity=0)


def run(*, with_llm: bool = True) -> dict[str, Any]:
    """Load, embed (or read the cache), rank and measure; the figures as a dict."""
    started = time.monotonic()
    papers = corpus_load()
    index = {p.key: i for i, p in enumerate(papers)}
    interests = interests_load(set(index))
    embedder = get_embedder()
    t0 = time.monotonic()
    vectors, papers_cached = embed_cached(
        [paper_text(p.title, p.abstract) for p in papers], "passage"
    )
    embed_seconds = time.monotonic() - t0
    queries: dict[str, Vectors] = {}
    queries_cached = True
    for lang in LANGUAGES:
        queries[lang], cached = embed_cached([i.descriptions[lang] for i in interests], "query")
        queries_cached &= cached
    # The product's description vectors (`radar.profiles.description_vector`: the mean of the
    # description and its English forms) for "hybrid" and "current".
    described: dict[str, Vectors] = {}
    for lang in LANGUAGES:
        described[lang], cached = described_vectors([i.descriptions[lang] for i in interests])
        queries_cached &= cached
    bm25 = BM25(papers)
    # A radar's words, as `radar.matching` gives them to scoring.
    words = {
        lang: [description_words(i.descriptions[lang]) for i in interests] for lang in LANGUAGES
    }
    views = paper_views(papers)
    grades = [{index[k]: g for k, g in i.grades.items()} for i in interests]

    # With the English profile the (local, simulated) LLM writes for each description.
    if with_llm:
        profiles = llm_profiles(interests)
        with_profile = {
            lang: described_vectors(
                [i.descriptions[lang] for i in interests],
                [profile["text"] for profile in profiles[lang]],
            )[0]
            for lang in LANGUAGES
        }
        profile_words = {
            lang: [
                description_words(i.descriptions[lang], profiles[lang][n]["keywords"])
                for n, i in enumerate(interests)
            ]
            for lang in LANGUAGES
        }
    else:
        NOT_YET["hybrid+LLM profile"] = "not run (--no-llm)"

    results: dict[str, dict[str, Any]] = {method: {} for method in METHODS}
    per_interest: dict[str, dict[str, float]] = {i.id: {} for i in interests}
    matches: dict[str, list[int]] = {}
    for lang in LANGUAGES:
        current = current_rank(views, vectors, described[lang], words[lang], bm25.stats)
        matches[lang] = [len(ranking) for ranking in current]
        if with_llm:
            understood = current_rank(
                views, vectors, with_profile[lang], profile_words[lang], bm25.stats
            )
        rows: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS if m not in NOT_YET}
        for n, interest in enumerate(interests):
            lexical = bm25.rank(words[lang][n])
            embedding = cosine_rank(vectors, queries[lang][n])
            meaning = cosine_rank(vectors, described[lang][n])
            rankings = {
                "lexical": lexical,
                "embedding": embedding,
                "hybrid": hybrid(lexical, meaning),
                "current": current[n],
            }
            if with_llm:
                rankings["hybrid+LLM profile"] = understood[n]
            for method, ranking in rankings.items():
                figures = measure(ranking, grades[n])
                rows[method].append(figures)
                per_interest[interest.id][f"{method} {lang}"] = figures["nDCG@10"]
        for method in METHODS:
            results[method][lang] = NOT_YET.get(method) or mean(rows[method])

    ratios: dict[str, dict[str, Any]] = {"hybrid/embedding nDCG@10": {}, "zh/en nDCG@10": {}}
    for lang in LANGUAGES:
        ratios["hybrid/embedding nDCG@10"][lang] = _ratio(
            results["hybrid"][lang]["nDCG@10"], results["embedding"][lang]["nDCG@10"]
        )
    for method in METHODS:
        ratios["zh/en nDCG@10"][method] = NOT_YET.get(method) or _ratio(
            results[method]["zh"]["nDCG@10"], results[method]["en"]["nDCG@10"]
        )
    return {
        "embedder": embedder.name,
        "corpus": {"papers": len(papers), "by_source": dict(Counter(p.source for p in papers))},
        "interests": len(interests),
        "judged": {
            "pairs": sum(len(i.grades) for i in interests),
            "papers": len({k for i in interests for k in i.grades}),
            "grade 2": sum(g == 2 for i in interests for g in i.grades.values()),
            "grade 1": sum(g == 1 for i in interests for g in i.grades.values()),
        },
        "methods": results,
        "ratios": ratios,
        "current matches": {
            lang: {"min": min(m), "median": float(np.median(m)), "max": max(m)}
            for lang, m in matches.items()
        },
        "feedback": feedback_gain(papers, vectors, interests, described, words, bm25.stats),
        "per_interest": per_interest,
        "cache": {
            "papers": "hit" if papers_cached else "embedded and stored",
            "queries": "hit" if queries_cached else "embedded and stored",
            "dir": str(CACHE.relative_to(ROOT)),
        },
        "seconds": {
            "embedding papers": round(embed_seconds, 1),
            "total": round(time.monotonic() - started, 1),
        },
    }


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _fmt(value: Any, spec: str = ".3f") -> str:
    return "n/a" if value is None else value if isinstance(value, str) else format(value, spec)


def report(out: dict[str, Any], per_interest: bool) -> None:
    """The figures as readable tables."""
    judged, cache = out["judged"], out["cache"]
    sources = ", ".join(f"{n} from {s}" for s, n in out["corpus"]["by_source"].items())
    print(f"embedder: {out['embedder']}")
    print(f"corpus: {out['corpus']['papers']} papers ({sources})")
    print(
        f"interests: {out['interests']}; judged relevant: {judged['pairs']} (interest, paper) "
        f"pairs ({judged['grade 2']} graded 2, {judged['grade 1']} graded 1), "
        f"{judged['papers']} distinct papers"
    )
    print(
        f"embedding cache ({cache['dir']}/relevance-*.npy): papers {cache['papers']}, "
        f"descriptions {cache['queries']}; paper vectors ready in "
        f"{out['seconds']['embedding papers']} s"
    )
    print()
    header = f"{'method':<20}{'lang':<6}" + "".join(f"{m:>11}" for m in METRICS)
    print(header)
    print("-" * len(header))
    for method, by_lang in out["methods"].items():
        for lang in LANGUAGES:
            figures = by_lang[lang]
            if isinstance(figures, str):
                print(f"{method:<20}{lang:<6}   {figures}")
            else:
                print(f"{method:<20}{lang:<6}" + "".join(f"{figures[m]:>11.3f}" for m in METRICS))
    print()
    ratios = out["ratios"]
    for lang, value in ratios["hybrid/embedding nDCG@10"].items():
        print(f"hybrid / embedding nDCG@10, {lang}: {_fmt(value)}")
    for method, value in ratios["zh/en nDCG@10"].items():
        print(f"Chinese / English nDCG@10, {method}: {_fmt(value)}")
    counts = out["current matches"]
    print(
        f"current: matches per interest at threshold {THRESHOLD} (min/median/max): "
        + "; ".join(f"{lang} {c['min']}/{c['median']:g}/{c['max']}" for lang, c in counts.items())
    )
    print()
    feedback = out["feedback"]
    print(
        f"feedback gain: day 1 = papers whose key ends in an even digit, day 2 = odd; the first "
        f"{FEEDBACK_RATED} day-1 matches rated 👍 if judged relevant, else 👎; "
        f"{len(feedback['interests'])} interests with >= {FEEDBACK_MIN} relevant papers each day"
        + "".join(f"; {n} papers on {day}" for day, n in feedback.get("papers", {}).items())
    )
    if "best P@10 on day 2" in feedback:
        print(
            f"  the best possible P@10 on day 2 (every relevant paper first): "
            f"{feedback['best P@10 on day 2']:.3f}"
        )
    for lang, figures in feedback["by_language"].items():
        votes = figures["votes"]
        for method in ("embedding", "current"):
            f = figures[method]
            print(
                f"  {lang} {method:<10} P@10 on day 2: {f['P@10 before']:.3f} -> "
                f"{f['P@10 after']:.3f}  gain {_fmt(f['gain %'], '+.1f')} %"
                f"  (every day-1 match rated: {f['P@10 after every day-1 match rated']:.3f}, "
                f"{_fmt(f['gain % every day-1 match rated'], '+.1f')} %)"
                + (f"   ({votes['up']} 👍, {votes['down']} 👎)" if method == "current" else "")
            )
    if per_interest:
        print()
        columns = [f"{m} {lang}" for m in METHODS if m not in NOT_YET for lang in LANGUAGES]
        print(f"{'nDCG@10':<34}" + "".join(f"{c:>13}" for c in columns))
        for interest, figures in out["per_interest"].items():
            print(f"{interest:<34}" + "".join(f"{figures[c]:>13.2f}" for c in columns))
    print(f"\ntotal {out['seconds']['total']} s")


def main() -> None:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--per-interest", action="store_true", help="each interest's nDCG@10")
    parser.add_argument(
        "--no-llm", action="store_true", help="skip the LLM profile (no test database needed)"
    )
    args = parser.parse_args()
    out = run(with_llm=not args.no_llm)
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        report(out, args.per_interest)


if __name__ == "__main__":
    main()
