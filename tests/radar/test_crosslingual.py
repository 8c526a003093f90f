"""Chinese descriptions in English terms: glossary segmentation, stop words, the file itself."""

from __future__ import annotations

import re
import timeit
from pathlib import Path

import pytest

import radar.crosslingual
from radar.crosslingual import (
    english_gloss,
    english_term_groups,
    english_terms,
    glossary_coverage,
    has_cjk,
)

GLOSSARY = Path(radar.crosslingual.__file__).with_name("glossary_zh_en.tsv")
CJK_ONLY = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]+")
# A key may hold the Latin or Greek letters or digits a term is written with (X射线,
# 2型糖尿病, 双β衰变, C*代数) beside its Chinese.
MIXED_KEY = re.compile(r"[A-Za-z0-9\u03b1-\u03c9*+\-\u2e80-\u9fff]+")


def glossary_rows() -> list[tuple[int, str, list[str]]]:
    """The file's entries as (line number, key, English parts), read without the module."""
    rows = []
    for number, line in enumerate(GLOSSARY.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("\t")
            rows.append((number, key, value.split("|")))
    return rows


# --- the examples of issue 12 -----------------------------------------------------------------


def test_quantum_error_correction_and_fault_tolerance_are_both_found() -> None:
    terms = english_terms("量子纠错与容错量子计算")
    assert terms[0] == "quantum error correction"
    assert "QEC" in terms
    assert any(term.startswith("fault-tolerant") for term in terms)
    assert english_gloss("量子纠错与容错量子计算").startswith(
        "quantum error correction, fault-tolerant"
    )


def test_medical_imaging_segmentation_reads_in_order() -> None:
    gloss = english_gloss("医学影像的深度学习分割与诊断")
    assert gloss == "medical imaging, deep learning, segmentation, diagnosis"


def test_prompt_injection_and_jailbreak_come_with_their_variants() -> None:
    terms = english_terms("大语言模型的提示注入与越狱攻击")
    assert terms[:2] == ["large language model", "LLM"]
    assert {"prompt injection", "jailbreak attack", "jailbreak"} <= set(terms)
    assert english_gloss("大语言模型的提示注入与越狱攻击") == (
        "large language model, prompt injection, jailbreak attack"
    )


# --- segmentation -------------------------------------------------------------------------------


def test_the_longest_entry_wins_over_its_components() -> None:
    terms = english_terms("图神经网络")
    assert terms[0] == "graph neural network"
    assert "GNN" in terms
    assert not {"graph", "neural", "network"} & set(terms)
    assert english_gloss("图神经网络") == "graph neural network"


def test_components_gloss_a_compound_the_glossary_lacks() -> None:
    # No entry for the whole phrase: it falls back to the longest pieces it knows.
    assert english_gloss("量子分割诊断") == "quantum, segmentation, diagnosis"


def test_latin_words_and_acronyms_are_kept_as_written() -> None:
    terms = english_terms("用CRISPR筛选和scRNA-seq研究LLM与GNN")
    assert [t for t in terms if t in {"CRISPR", "scRNA-seq", "LLM", "GNN"}] == [
        "CRISPR",
        "scRNA-seq",
        "LLM",
        "GNN",
    ]
    assert "screening" in terms


def test_full_width_latin_is_read_as_ascii() -> None:
    assert english_terms("ＬＬＭ的越狱")[0] == "LLM"


def test_stop_words_and_interest_phrasing_are_skipped() -> None:
    text = "我关注基于深度学习的方法以及相关领域的最新论文和研究工作"
    assert english_terms(text) == ["deep learning"]


def test_a_longer_entry_beats_a_stop_word_at_the_same_place() -> None:
    assert english_gloss("工作记忆与相关性") == "working memory, correlation"


def test_unknown_characters_are_dropped() -> None:
    assert english_terms("鼎鼐饕餮") == []
    assert english_gloss("鼎鼐饕餮") == ""


def test_repeats_are_listed_once() -> None:
    # Case-insensitively: the acronym in the text is the glossary's variant "ML".
    assert english_terms("机器学习、机器学习和 ml") == ["machine learning", "ML"]


@pytest.mark.parametrize("text", ["", "prompt injection and jailbreaks", "GNN 2024", "  "])
def test_text_without_chinese_has_no_terms(text: str) -> None:
    assert not has_cjk(text)
    assert english_terms(text) == []
    assert english_gloss(text) == ""


def test_has_cjk_finds_a_single_character() -> None:
    assert has_cjk("LLM 安全")
    assert has_cjk("機器學習")


def test_common_traditional_characters_are_understood() -> None:
    assert english_gloss("大語言模型的提示注入") == "large language model, prompt injection"


# --- across fields ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # biology
        ("单细胞测序揭示肿瘤微环境", ["single-cell sequencing", "tumor microenvironment"]),
        ("基于蛋白质语言模型的抗体设计", ["protein language model", "antibody design"]),
        (
            "全基因组关联分析与孟德尔随机化",
            ["genome-wide association study", "Mendelian randomization"],
        ),
        # medicine
        ("阿尔茨海默病的早期诊断", ["Alzheimer's disease", "early diagnosis"]),
        ("新冠疫苗的有效性", ["COVID-19", "vaccine", "effectiveness"]),
        # physics
        ("拓扑绝缘体与转角石墨烯", ["topological insulator", "twisted bilayer graphene"]),
        ("引力波与黑洞并合", ["gravitational waves", "black hole", "merger"]),
        ("托卡马克等离子体湍流", ["tokamak", "plasma", "turbulence"]),
        # economics and finance
        ("货币政策对通货膨胀和失业的影响", ["monetary policy", "inflation", "unemployment"]),
        ("限价订单簿上的高频交易", ["limit order book", "high-frequency trading"]),
        # engineering and earth science
        (
            "可重构智能表面辅助的毫米波通信",
            ["reconfigurable intelligent surface", "assisted", "millimeter wave", "communication"],
        ),
        ("气候变化背景下的极端降水", ["climate change", "extreme precipitation"]),
    ],
)
def test_descriptions_across_fields_gloss_to_their_english_terms(
    text: str, expected: list[str]
) -> None:
    assert english_gloss(text) == ", ".join(expected)
    assert set(expected) <= set(english_terms(text))


# --- the glossary file --------------------------------------------------------------------------


def test_every_glossary_line_has_a_chinese_key_and_english_terms() -> None:
    rows = glossary_rows()
    assert len(rows) >= 2000
    for number, key, english in rows:
        # CJK characters, or the letters or digits a term is written with before them.
        assert MIXED_KEY.fullmatch(key) and CJK_ONLY.search(key), f"line {number}: {key!r}"
        assert all(part.strip() == part and part for part in english), f"line {number}"
        assert not any(CJK_ONLY.search(part) for part in english), f"line {number}"


def test_no_glossary_key_is_repeated() -> None:
    seen: dict[str, int] = {}
    for number, key, _english in glossary_rows():
        assert key not in seen, f"{key!r} on lines {seen[key]} and {number}"
        seen[key] = number


def test_no_glossary_key_is_a_stop_word() -> None:
    # A stop word of the same length wins, so such an entry could never match.
    stop_words = radar.crosslingual._STOP_WORDS
    assert not {key for _number, key, _english in glossary_rows()} & stop_words


def test_the_file_says_how_it_was_written() -> None:
    header = GLOSSARY.read_text(encoding="utf-8").splitlines()[:4]
    assert all(line.startswith("#") for line in header)
    assert "general knowledge" in " ".join(header)


def test_glossing_a_long_description_takes_well_under_a_millisecond_per_call() -> None:
    text = (
        "我关注大语言模型的提示注入与越狱攻击，以及基于图神经网络的药物发现、单细胞测序数据分析、"
        "医学影像的深度学习分割与诊断、量子纠错与容错量子计算、气候变化背景下的极端降水预测。"
    ) * 3
    assert len(text) > 150
    english_terms(text)  # the first call loads the file
    runs = 50
    best = min(timeit.repeat(lambda: english_terms(text), number=runs, repeat=5))
    # About 0.2 ms here; radars are glossed on save and on each search, not per paper.
    assert best / runs < 5e-3, f"english_terms: {best / runs * 1e3:.2f} ms"


def test_coverage_says_how_much_of_a_chinese_text_the_glossary_knows() -> None:
    assert glossary_coverage("量子纠错与容错量子计算") == 1.0
    # 塑料 is not in the glossary; 的 is a stop word and counts for neither side.
    assert 0 < glossary_coverage("可生物降解的塑料") < 0.8
    assert glossary_coverage("quantum error correction") == 0.0


def test_chinese_punctuation_between_terms_counts_as_neither_found_nor_missed() -> None:
    assert glossary_coverage("量子纠错、容错量子计算。") == 1.0


def test_an_accented_latin_name_in_a_chinese_description_is_kept_whole() -> None:
    assert "Turán" in english_terms("极值组合：Turán问题与Ramsey问题")


def test_the_english_terms_are_grouped_by_the_term_each_renders() -> None:
    groups = english_term_groups("黑洞光子环与黑洞吸积")

    assert groups[0][0] == "black hole" and "black holes" in groups[0]
    assert [group[0] for group in groups] == ["black hole", "photon ring", "accretion"]
    # Each phrase once; together they are english_terms.
    assert [term for group in groups for term in group] == english_terms("黑洞光子环与黑洞吸积")


@pytest.mark.parametrize(
    ("text", "gloss"),
    [
        # The letter used to be dropped and 光 read alone: "light".
        ("X光安检违禁品", "X-ray, security screening, prohibited items"),
        ("x射线衍射", "X-ray diffraction"),
        ("T细胞受体", "T cell, receptor"),
        ("2型糖尿病的肠道菌群", "type 2 diabetes, gut microbiota"),
        ("Ia型超新星宇宙学", "type Ia supernova, cosmology"),
        ("β衰变", "beta decay"),
    ],
)
def test_terms_written_with_a_latin_or_greek_letter_or_a_digit_keep_it(
    text: str, gloss: str
) -> None:
    assert english_gloss(text) == gloss
    assert glossary_coverage(text) == 1.0


def test_a_mixed_term_is_not_found_inside_a_longer_latin_word() -> None:
    # "MAX" is not "X": 光 alone is "light", and the word stays as written.
    assert english_gloss("MAX光") == "MAX, light"
