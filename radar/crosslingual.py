"""Chinese research descriptions in English words, from a bundled glossary (no LLM).

Readers describe a radar in Chinese ("量子纠错与容错量子计算") while the papers are in
English, so neither full-text matching nor a monolingual embedding connects the two. This
module turns the Chinese into English search terms with `glossary_zh_en.tsv`, a hand-written
research glossary (`中文<TAB>canonical phrase|variant|…`):

- `english_terms` gives the terms for lexical matching (BM25, full text): every matched
  entry's canonical phrase and variants, plus Latin words already in the text (`LLM`,
  `scRNA-seq`), in order and without repeats.
- `english_gloss` gives a readable rendering to embed next to the Chinese text: canonical
  phrases only, joined by ", ".

Chinese has no spaces, so each run of CJK characters is segmented by greedy longest match:
at each position the longest glossary entry wins (图神经网络 is one term, not 图 + 神经 +
网络), a stop word (的, 与, 基于, 研究 …) at least as long is skipped instead, and a
character that starts neither is dropped. One-character stop words need more care, as
many also begin research words:

- a negation (非 无 不 未) directly before a glossary term negates it instead of being
  skipped: 非渐近 is "non-asymptotic", never the bare "asymptotic" (common negated words
  have entries of their own: 不对称 asymmetry, 无线 wireless, 未知 unknown);
- any other one-character stop word but a particle (有 下 上 中 向 类 …, not 的 or 与)
  directly before characters nothing knows counts as missed with them (有色噪声 without an
  entry: 有色 is not understood, not just 色), so `glossary_coverage` shows the gap.

Pure standard library, so the pure scoring and the benchmarks can use it without Django.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Container
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "english_gloss",
    "english_term_groups",
    "english_terms",
    "glossary_coverage",
    "has_cjk",
]

_GLOSSARY_PATH = Path(__file__).with_name("glossary_zh_en.tsv")

# The same script ranges as `radar.query`: Han, kana, Hangul and their punctuation blocks.
_CJK_CLASS = r"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
_CJK = re.compile(f"[{_CJK_CLASS}]")
_ALL_CJK = re.compile(f"[{_CJK_CLASS}]+$")
# A run of CJK characters (CJK punctuation included: it matches no entry and is skipped), or
# a Latin word with inner hyphens, dots or slashes (scRNA-seq, COVID-19, PM2.5, C++), its
# letters accented or not (Turán, Erdős).
_LATIN = "A-Za-z\u00c0-\u024f"
_TOKEN = re.compile(
    f"(?P<cjk>[{_CJK_CLASS}]+)|(?P<latin>[{_LATIN}0-9][{_LATIN}0-9+#]*(?:[-.'/][{_LATIN}0-9+#]+)*)"
)
_LETTER = re.compile(f"[{_LATIN}]")
# CJK punctuation (、。「」 …, the symbols block): a separator, neither found nor missed.
_CJK_PUNCTUATION = re.compile("[\u3000-\u303f]")

# Function words and the vocabulary of describing an interest ("我关注…方面的最新论文"):
# they carry no topic, so they are skipped rather than glossed. A glossary entry that
# starts at the same position and is longer still wins (工作记忆 over 工作, 相关性 over 相关).
_STOP_TEXT = """
    的 地 得 了 着 过 之 与 和 及 或 并 而 且 跟 同 在 中 对 于 从 向 以 为 由 被 把 将 让 使
    给 用 等 其 该 此 这 那 各 每 某 也 还 又 都 就 即 是 有 无 非 不 未 已 可 能 会 要 需 如 若
    上 下 内 里 间 后 前 时 个 种 些 类 我 你 他 她 它 们 很 更 最 较 吗 呢 吧 啊 新 旧
    以及 及其 或者 并且 而且 以便 从而 因此 所以 但是 然而 同时 此外 另外 其中 之间 其他 其它
    基于 基本 关于 有关 涉及 针对 面向 通过 利用 使用 采用 借助 结合 围绕 包括 包含 尤其 尤其是
    特别是 例如 比如 诸如 等等 之类 一种 一个 一些 一类 多种 各种 各类 不同 若干 某些 这些 那些
    研究 方法 技术 应用 领域 方向 方面 问题 方案 方式 手段 角度 情况 过程 体系 机会 挑战 机遇
    意义 价值 影响 作用 因素 场景 任务 能力 内容 相关 相应 具体 特定 一般 重要 关键 主要 核心
    用于 进行 提出 提高 提升 改进 实现 解决 探索 探讨 开发 发展 构建 面临 如何 怎样 为什么
    我们 我的 他们 本文 论文 文章 文献 工作 成果 进展 最新 最近 近期 近年 近年来 当前 目前 现有
    未来 新型 新的 新颖 前沿进展 感兴趣 兴趣 关注 关心 喜欢 希望 想 想要 需要 了解 跟进 寻找 推送
    订阅 阅读 看 相关的 方面的 领域的 中的 上的 下的
    非常 不断 不仅 不但 不再 不能 不会 不是 不同于 并不 并非 无论 无法 无需 无须 不需 不必
    未能 有所 有助于 有利于 有的 有些 没有 以下 以上 之下 之上 上述 下述 而非 是否 前提 能够 时候
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())
_STOP_LONGEST = max(map(len, _STOP_WORDS))
# Negations: before a glossary term they give its negated English ("non-X"), see `_negated`.
_NEGATIONS = frozenset("非无不未")
# One-character stop words that begin no research word (particles, pronouns, the commonest
# prepositions): skipped even before characters nothing knows. The other one-character stop
# words (有 下 上 中 向 内 后 新 类 …) also begin compounds (有色噪声, 向列相, 类时), so
# before characters nothing knows they count as missed with them.
_PARTICLE_TEXT = """
    的 地 得 了 着 之 与 和 及 或 并 而 且 跟 同 在 对 于 从 以 为 由 被 把 将 让 使 给 用 等 其 该
    此 这 那 各 每 某 也 还 又 都 就 即 是 已 会 要 需 如 若 我 你 他 她 它 们 很 更 最 较 吗 呢
    吧 啊 想 看
"""
_PARTICLES = frozenset(_PARTICLE_TEXT.split())
# Joining words between Latin terms ("LLM agents for code"); the terms themselves are kept.
_ENGLISH_STOP_TEXT = "a an and as at based by for from in into of on or the to using via with"
_ENGLISH_STOP_WORDS = frozenset(_ENGLISH_STOP_TEXT.split())


class _Glossary(NamedTuple):
    terms: dict[str, tuple[str, ...]]
    longest: int
    # Keys written with Latin or Greek letters or digits before the Chinese (X射线, T细胞,
    # 2型糖尿病, β衰变): found in the text before it is cut into runs, which would drop the
    # single letter and read 光 as "light". One pattern, longest keys first, any case.
    mixed: dict[str, tuple[str, ...]]
    mixed_pattern: re.Pattern[str] | None


@functools.cache
def _glossary() -> _Glossary:
    """The glossary file, parsed once per process."""
    terms: dict[str, tuple[str, ...]] = {}
    mixed: dict[str, tuple[str, ...]] = {}
    lines = _GLOSSARY_PATH.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        key, tab, value = line.partition("\t")
        english = tuple(part.strip() for part in value.split("|") if part.strip())
        table = terms if _ALL_CJK.match(key) else mixed
        key = key if table is terms else key.casefold()
        if not tab or not key or not english or key in table or not _CJK.search(key):
            raise ValueError(f"{_GLOSSARY_PATH.name}:{number}: bad or repeated entry {line!r}")
        table[key] = english
    pattern = None
    if mixed:
        alternatives = "|".join(re.escape(key) for key in sorted(mixed, key=len, reverse=True))
        pattern = re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})", re.IGNORECASE)
    return _Glossary(terms, max(map(len, terms)), mixed, pattern)


def _longest_prefix(run: str, start: int, longest: int, words: Container[str]) -> int:
    """The length of the longest word in `words` that starts at `run[start]`, or 0."""
    for length in range(min(longest, len(run) - start), 0, -1):
        if run[start : start + length] in words:
            return length
    return 0


def _negated(negation: str, english: tuple[str, ...]) -> tuple[str, ...]:
    """The English of a negation (非 无 不 未) and the glossary term after it: "non-X" for
    each of the term's phrases, and for its canonical phrase when that is one lowercase
    word also "nonX" (nonasymptotic) and, after 无, "X-free" first (无参数 parameter-free).
    Acronyms, which do not negate, are left out."""
    canonical = english[0]
    negated: list[str] = []
    if negation == "无" and canonical.isalpha() and canonical.islower():
        negated.append(f"{canonical}-free")
    for phrase in english:
        if any(char.islower() for char in phrase):
            negated.append(f"non-{phrase}")
            if phrase is canonical and phrase.isalpha() and phrase.islower():
                negated.append(f"non{phrase}")
    return tuple(negated) or (f"non-{canonical}",)


def _segment(run: str) -> tuple[list[tuple[str, ...]], int, int]:
    """The English of each glossary entry found in one run of CJK characters, in order, and
    how many of its characters glossary entries covered and how many nothing did (stop words
    count for neither, unless they begin characters nothing knows)."""
    glossary = _glossary()
    found: list[tuple[str, ...]] = []
    covered = missed = 0
    start = 0
    while start < len(run):
        term = _longest_prefix(run, start, glossary.longest, glossary.terms)
        stop = _longest_prefix(run, start, _STOP_LONGEST, _STOP_WORDS)
        if term > stop:
            found.append(glossary.terms[run[start : start + term]])
            covered += term
            start += term
            continue
        if not stop:
            if not _CJK_PUNCTUATION.match(run, start):
                missed += 1
            start += 1
            continue
        after = start + stop
        if stop == 1 and after < len(run) and run[start] not in _PARTICLES:
            following = _longest_prefix(run, after, glossary.longest, glossary.terms)
            if following > _longest_prefix(run, after, _STOP_LONGEST, _STOP_WORDS):
                if run[start] in _NEGATIONS:
                    # 非渐近: "non-asymptotic", never the bare "asymptotic".
                    english = glossary.terms[run[after : after + following]]
                    found.append(_negated(run[start], english))
                    covered += 1 + following
                    after += following
            elif not (
                following
                or _longest_prefix(run, after, _STOP_LONGEST, _STOP_WORDS)
                or _CJK_PUNCTUATION.match(run, after)
            ):
                # 有色噪声 without 有色: the 有 belongs to the word nothing knows.
                missed += 1
        start = after
    return found, covered, missed


def _pieces(text: str) -> list[tuple[str, tuple[str, ...] | None]]:
    """The text (NFKC) cut at the glossary's mixed-script keys: (a key as written, its English)
    and (the text between, None), in order."""
    text = unicodedata.normalize("NFKC", text)
    glossary = _glossary()
    if glossary.mixed_pattern is None:
        return [(text, None)]
    pieces: list[tuple[str, tuple[str, ...] | None]] = []
    start = 0
    for match in glossary.mixed_pattern.finditer(text):
        pieces.append((text[start : match.start()], None))
        pieces.append((match[0], glossary.mixed[match[0].casefold()]))
        start = match.end()
    pieces.append((text[start:], None))
    return pieces


def _matches(text: str) -> list[tuple[str, ...]]:
    """Each matched term's English (canonical first) and each Latin word, in text order."""
    if not has_cjk(text):
        return []
    matches: list[tuple[str, ...]] = []
    for piece, english in _pieces(text):
        if english is not None:
            matches.append(english)
            continue
        for token in _TOKEN.finditer(piece):
            if token["cjk"]:
                matches.extend(_segment(token["cjk"])[0])
            else:
                word = token["latin"]
                if (
                    _LETTER.search(word)
                    and len(word) > 1
                    and word.lower() not in _ENGLISH_STOP_WORDS
                ):
                    matches.append((word,))
    return matches


def _unique(phrases: list[str]) -> list[str]:
    """`phrases` without later repeats, compared case-insensitively."""
    seen: set[str] = set()
    unique = []
    for phrase in phrases:
        if phrase.casefold() not in seen:
            seen.add(phrase.casefold())
            unique.append(phrase)
    return unique


def has_cjk(text: str) -> bool:
    """Whether `text` has any Chinese, Japanese or Korean character."""
    return _CJK.search(text) is not None


def english_terms(text: str) -> list[str]:
    """English search terms for a Chinese description: glossary phrases with their variants
    and the Latin words already in it, in order, without repeats; [] for text without CJK."""
    return [phrase for group in english_term_groups(text) for phrase in group]


def english_term_groups(text: str) -> list[list[str]]:
    """`english_terms` grouped by the term each renders: a glossary term's canonical phrase
    and its variants (["black hole", "black holes"]), a Latin word alone; each phrase once.
    A paper holding two terms is then told from one holding two spellings of one."""
    seen: set[str] = set()
    groups: list[list[str]] = []
    for match in _matches(text):
        group = [phrase for phrase in match if phrase.casefold() not in seen]
        seen.update(phrase.casefold() for phrase in group)
        if group:
            groups.append(group)
    return groups


def glossary_coverage(text: str) -> float:
    """The share of a text's Chinese characters, stop words left out, that glossary terms
    cover: 1.0 when every word was found, less when some were not (a partial English rendering
    may say something else), 0.0 for text without CJK."""
    covered = missed = 0
    for piece, english in _pieces(text):
        if english is not None:
            covered += len(_CJK.findall(piece))
            continue
        for token in _TOKEN.finditer(piece):
            if token["cjk"]:
                _found, run_covered, run_missed = _segment(token["cjk"])
                covered += run_covered
                missed += run_missed
    total = covered + missed
    return covered / total if total else 0.0


def english_gloss(text: str) -> str:
    """A readable English rendering of a Chinese description (canonical phrases, ", ")."""
    return ", ".join(_unique([match[0] for match in _matches(text)]))
