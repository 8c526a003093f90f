"""Words that begin with a stop character (非 无 不 未 有 下 上 向 …), words whose shorter
part means something else (宇宙线 is not 宇宙), and the general vocabulary a held-out probe
of Chinese descriptions found missing."""

from __future__ import annotations

import pytest

import radar.crosslingual
from radar.crosslingual import english_gloss, english_terms, glossary_coverage


def glossary() -> dict[str, tuple[str, ...]]:
    return radar.crosslingual._glossary().terms


# --- a negation before a term ------------------------------------------------------------------


def test_subcortical_asymmetry_is_not_read_as_cortex_and_symmetry() -> None:
    text = "皮层下结构不对称"
    terms = english_terms(text)
    assert {"subcortical", "asymmetry"} <= set(terms)
    assert not {"cortex", "cortical", "symmetry", "symmetric"} & set(terms)
    assert english_gloss(text) == "subcortical, structure, asymmetry"


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("非渐近", "non-asymptotic"),
        ("非相对论", "non-relativistic"),
        ("非厄米", "non-Hermitian"),
        ("无碰撞", "collisionless"),
        ("无线", "wireless"),
        ("未知", "unknown"),
        ("不等式", "inequality"),
        ("不对称", "asymmetry"),
    ],
)
def test_a_negated_word_never_glosses_as_its_positive(text: str, english: str) -> None:
    positive = {phrase.casefold() for phrase in glossary().get(text[1:], ())}
    terms = english_terms(text)
    assert english_gloss(text) == english
    assert not positive & {term.casefold() for term in terms}


def test_a_negation_before_any_term_gives_non_x() -> None:
    # No entry for 非相干 or 未校准: the rule, not the glossary, negates them.
    assert "非相干" not in glossary() and "未校准" not in glossary()
    assert english_gloss("非相干光源").startswith("non-coherence")
    assert "non-coherent" in english_terms("非相干")
    assert "coherent" not in english_terms("非相干")
    assert english_gloss("未校准的传感器") == "non-calibration, sensor"
    assert glossary_coverage("非相干") == 1.0


def test_no_with_a_noun_is_x_free() -> None:
    assert "无参数" not in glossary()
    assert english_terms("无参数")[0] == "parameter-free"


def test_negations_inside_function_words_negate_nothing() -> None:
    assert english_terms("不同的模型") == ["model"]
    assert english_terms("非常重要的深度学习") == ["deep learning"]
    assert english_terms("基于规则而非深度学习") == ["rules", "rule", "deep learning"]


# --- stop characters before what nothing knows ------------------------------------------------


def test_a_word_forming_stop_character_before_unknown_text_counts_as_missed() -> None:
    # 鼐 is in no entry. 有 may begin a word with it, so both are missed: 2 of 4.
    assert glossary_coverage("噪声有鼐") == 0.5
    # 的 begins no word, so only 鼐 is missed: 2 of 3.
    assert glossary_coverage("噪声的鼐") == pytest.approx(2 / 3)


def test_coverage_is_below_one_when_part_of_the_text_is_not_understood() -> None:
    assert glossary_coverage("皮层下结构不对称") == 1.0
    assert glossary_coverage("皮层下结构鼐鼐") < 1.0
    assert glossary_coverage("向鼐相液晶") < 1.0
    assert glossary_coverage("类鼐宇宙线") < 1.0


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("有色噪声", "colored noise"),
        ("有限", "finite"),
        ("有效", "effective"),
        ("有机", "organic"),
        ("有向图", "directed graph"),
        ("下肢", "lower limb"),
        ("上肢", "upper limb"),
        ("向列相", "nematic"),
        ("类时", "timelike"),
        ("单光子", "single-photon"),
        ("双光子", "two-photon"),
        ("高阶", "higher-order"),
        ("高能", "high-energy"),
    ],
)
def test_words_that_begin_with_a_stop_character_are_found(text: str, english: str) -> None:
    assert english_gloss(text) == english
    assert glossary_coverage(text) == 1.0


# --- a longer word is not its shorter part ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "english", "not_english"),
    [
        ("宇宙线", "cosmic rays", "universe"),
        ("光变曲线", "light curve", "curve"),
        ("树莓派", "Raspberry Pi", "tree"),
        ("图文检索", "image-text retrieval", "graph"),
        ("超分子", "supramolecular", "molecule"),
        ("预组织", "preorganization", "tissue"),
        ("甚长基线干涉", "VLBI", "interference"),
        ("非小细胞肺癌", "non-small cell lung cancer", "lung cancer"),
        ("各向异性", "anisotropy", "isotropy"),
    ],
)
def test_a_compound_has_its_own_sense(text: str, english: str, not_english: str) -> None:
    terms = english_terms(text)
    assert terms[0] == english
    assert not_english not in terms


def test_words_with_two_senses_give_both() -> None:
    assert {"spatiotemporal", "spacetime"} <= set(english_terms("时空"))
    assert {"Milky Way", "Galactic", "galaxy"} <= set(english_terms("银河系"))


def test_mass_is_not_flooded_by_quality() -> None:
    # 质量 alone is read as physics' mass; quality comes with its compounds.
    assert english_terms("黑洞质量") == ["black hole", "black holes", "mass"]
    assert "quality" not in english_terms("质量")


# --- general vocabulary across fields ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "english"),
    [
        # physics and astronomy
        ("宇宙线的河外起源", ["cosmic rays", "extragalactic"]),
        ("伽马暴的瞬时辐射与光变曲线", ["gamma-ray burst", "prompt emission", "light curve"]),
        ("黑洞的光子环与度规", ["black hole", "photon ring", "metric"]),
        ("标量玻色子的唯象学", ["scalar", "boson", "phenomenology"]),
        ("液晶的向列相与近晶相织构", ["liquid crystal", "nematic", "smectic", "texture"]),
        ("谐振腔中的耗散与交换耦合", ["resonator", "dissipation", "exchange coupling"]),
        ("空间碎片的轨道预测", ["space debris", "orbit", "prediction"]),
        # mathematics and statistics
        ("黎曼流形上的拉普拉斯算子", ["Riemannian manifold", "Laplacian"]),
        ("全测地子流形", ["totally geodesic", "submanifold"]),
        ("集中不等式与条件数", ["concentration inequality", "condition number"]),
        ("总体偏度的估计", ["population", "skewness", "estimation"]),
        # computing
        ("异构图上的暗网分析", ["heterogeneous graph", "dark web", "analysis"]),
        ("树莓派上的真值标注", ["Raspberry Pi", "ground truth", "annotation"]),
        # biomedicine and economics
        ("胰岛素凝胶的冷链储存与释放", ["insulin", "gel", "cold chain", "storage", "release"]),
        ("静息态基底节与颅内出血", ["resting-state", "basal ganglia", "intracranial hemorrhage"]),
        ("生育与养老的权衡", ["fertility", "pension", "trade-off"]),
    ],
)
def test_general_research_vocabulary_is_found(text: str, english: list[str]) -> None:
    gloss = english_gloss(text).split(", ")
    assert [phrase for phrase in gloss if phrase in english] == english
    assert glossary_coverage(text) == 1.0
