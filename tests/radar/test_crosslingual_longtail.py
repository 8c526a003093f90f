"""The long tail of research vocabulary: compounds whose parts are shorter entries with
another sense (部分子 is not 部 + 分子 "molecule", 宇宙监督 is not "universe, supervised")
and named objects, methods and phenomena of each field that a Chinese researcher types."""

from __future__ import annotations

from pathlib import Path

import pytest

import radar.crosslingual
from radar.crosslingual import english_gloss, english_terms, glossary_coverage

GLOSSARY = Path(radar.crosslingual.__file__).with_name("glossary_zh_en.tsv")

# The one-character keys the glossary had before the long-tail pass. A single character
# captures every compound it begins, so no new one may be added.
SINGLE_CHARACTER_KEYS = frozenset("图碳氢硅锂波树药熵群鞅粲光酶肽脑癌肺云")


def glossary_keys() -> list[str]:
    """Every key of the file, in order, read without the module (which rejects repeats)."""
    keys = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            keys.append(line.partition("\t")[0])
    return keys


# --- a compound is not read through a shorter entry with another sense --------------------------


@pytest.mark.parametrize(
    ("text", "english", "wrong"),
    [
        # high-energy and nuclear physics
        ("部分子分布", "parton distribution", {"molecule", "molecular"}),
        ("广义部分子分布", "generalized parton distribution", {"molecule"}),
        ("强子真空极化", "hadronic vacuum polarization", {"vacuum"}),
        # gravitation and cosmology
        ("宇宙监督假设", "cosmic censorship", {"universe", "supervised", "hypothesis"}),
        # astronomy
        ("造父变星", "Cepheid variable", set()),
        # condensed matter
        ("自旋密度波", "spin density wave", {"spin", "wave"}),
        ("电荷密度波", "charge density wave", {"charge", "wave"}),
        ("热电子", "hot electron", {"thermoelectric"}),
        # microbiology and environmental engineering
        ("厌氧消化", "anaerobic digestion", {"digestive", "gastrointestinal"}),
        # evolutionary biology
        ("最后共同祖先", "last universal common ancestor", set()),
        ("水平基因转移", "horizontal gene transfer", {"metastasis"}),
        # genetics
        ("染色体", "chromosome", {"coloring"}),
        # physics and society
        ("观点动力学", "opinion dynamics", set()),
        # combinatorics
        ("排列模式", "permutation pattern", set()),
        # differential topology
        ("莫尔斯理论", "Morse theory", {"moiré"}),
        # security
        ("违禁品安检", "prohibited items", set()),
        # organization science
        ("组织学习", "organizational learning", {"tissue"}),
        # nuclear engineering
        ("核反应堆", "nuclear reactor", {"nuclear reaction"}),
    ],
)
def test_a_compound_is_not_read_through_a_shorter_entry(
    text: str, english: str, wrong: set[str]
) -> None:
    terms = english_terms(text)
    assert english_gloss(text).startswith(english)
    assert not wrong & set(terms)
    assert glossary_coverage(text) == 1.0


def test_parton_distributions_come_with_their_acronyms() -> None:
    assert {"parton distribution functions", "PDF"} <= set(english_terms("部分子分布函数"))
    assert "GPD" in english_terms("广义部分子分布")
    assert "LUCA" in english_terms("最后共同祖先")
    assert {"SDW", "CDW"} <= set(english_terms("自旋密度波与电荷密度波"))


def test_security_screening_and_contraband_are_found() -> None:
    terms = english_terms("安检图像中的违禁品检测")
    assert {"security screening", "prohibited items", "contraband", "detection"} <= set(terms)


# --- descriptions across fields ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "english"),
    [
        # hep-ph, hep-ex
        ("奇特强子与四夸克态", ["exotic hadron", "tetraquark"]),
        ("喷注子结构与夸克胶子等离子体", ["jet substructure", "quark-gluon plasma"]),
        # hep-th, gr-qc
        ("复合希格斯与超对称", ["composite Higgs", "supersymmetry"]),
        ("黑洞信息悖论与佩奇曲线", ["black hole information paradox", "Page curve"]),
        # astro-ph
        ("造父变星的谱线与红移", ["Cepheid variable", "spectral line", "redshift"]),
        ("双中子星并合与千新星", ["binary neutron star", "merger", "kilonova"]),
        # cond-mat
        ("莫特绝缘体中的赝能隙", ["Mott insulator", "pseudogap"]),
        ("魔角石墨烯中的关联绝缘态", ["magic-angle graphene", "correlated insulating state"]),
        # quant-ph
        ("囚禁离子的量子态层析", ["trapped ions", "quantum state tomography"]),
        # physics.plasm-ph, physics.flu-dyn
        ("托卡马克中的撕裂模不稳定性", ["tokamak", "tearing mode instability"]),
        ("大涡模拟与涡脱落", ["large eddy simulation", "vortex shedding"]),
        # math.PR, math.CO
        ("布朗桥与随机游走", ["Brownian bridge", "random walk"]),
        ("图的染色数与极值图论", ["chromatic number", "extremal graph theory"]),
        # stat
        ("异质性处理效应与潜在结果", ["heterogeneous treatment effects", "potential outcomes"]),
        # cs.CR, cs.LG
        ("联邦学习中的梯度泄露", ["federated learning", "gradient leakage"]),
        (
            "多智能体强化学习中的信用分配",
            ["multi-agent reinforcement learning", "credit assignment"],
        ),
        # q-fin
        ("波动率曲面与隐含波动率", ["volatility surface", "implied volatility"]),
        # bioRxiv: evolution, neuroscience, paleontology, biochemistry
        ("原核生物的水平基因转移", ["prokaryote", "horizontal gene transfer"]),
        ("位置细胞与网格细胞的空间编码", ["place cell", "grid cell", "spatial coding"]),
        ("恐龙化石的骨组织学", ["dinosaur", "fossil", "bone histology"]),
        ("蛋白质折叠中的分子伴侣", ["protein folding", "molecular chaperone"]),
        # medRxiv: cardiology, oncology
        ("心房颤动的导管消融", ["atrial fibrillation", "catheter ablation"]),
        ("肿瘤突变负荷与免疫治疗", ["tumor mutational burden", "immunotherapy"]),
        # physics.ao-ph
        ("季风降水的年际变率", ["monsoon", "precipitation", "interannual variability"]),
        # physics.soc-ph
        ("观点动力学与回音室", ["opinion dynamics", "echo chamber"]),
    ],
)
def test_long_tail_descriptions_gloss_to_their_terms(text: str, english: list[str]) -> None:
    gloss = english_gloss(text).split(", ")
    assert [phrase for phrase in gloss if phrase in english] == english
    assert glossary_coverage(text) == 1.0


# --- the file -------------------------------------------------------------------------------------


def test_the_glossary_has_no_repeated_key() -> None:
    keys = glossary_keys()
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    assert not repeated


def test_no_single_character_key_was_added() -> None:
    single = {key for key in glossary_keys() if len(key) == 1}
    assert single <= SINGLE_CHARACTER_KEYS, sorted(single - SINGLE_CHARACTER_KEYS)
