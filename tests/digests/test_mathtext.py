"""TeX math in emails as readable text (`digests.mathtext`): Unicode where Unicode has it, else
the plain TeX source without its dollars — never a command glued to the letters of the
argument next to it (`\\DeltaBIC`, `t\\bart`), never `$…$` left in the text. Checked on every
title and abstract of a recorded arXiv feed, as the email gets them (parsed by the arXiv
adapter, cleaned as they are stored)."""

from __future__ import annotations

import re
import unicodedata

import pytest

from digests.mathtext import tex_plain
from feeds.pipeline.text import clean_abstract, clean_title
from feeds.sources import arxiv_rss
from tests.conftest import fixture_bytes

FEED = "arxiv-rss-all-archives-2024-11-28.xml"
COMMAND = re.compile(r"\\([A-Za-z]+)")
# Dollars around TeX markup: math that was not converted.
DOLLAR_MATH = re.compile(r"\$[^$]*[\\^_{}][^$]*\$")


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"$\Delta\mathrm{BIC}$", "ΔBIC"),
        (r"$\mu\mathrm{m}$", "μm"),
        (r"$\hat{H}$", "Ĥ"),
        (r"$\texttt{X}$", "X"),
        (r"Measurements of $t\bar{t}$", "Measurements of tt̄"),
        (r"$\mathcal{U}(\mathfrak{h})$-finite", "𝒰(𝔥)-finite"),
        (r"category $\mathfrak{A}^{\text{irr}}$", "category 𝔄ⁱʳʳ"),
        (r"approximation$\colon$ the case in $\mathbb{R}^{2}$", "approximation: the case in ℝ²"),
        (r"integrals for $\Z^d$-extensions", "integrals for ℤᵈ-extensions"),
        (r"up to $ \sqrt{s} = 13$ TeV", "up to √s = 13 TeV"),
        (r"CeCo$_{0.5}$Rh$_{0.5}$In$_{5}$", "CeCo₀.₅Rh₀.₅In₅"),
        (r"widths of $\chi_{cJ}$ and", "widths of χ_cJ and"),
        (r"La$_{3}$Ni$_{2}$O$_{7-\delta}$", "La₃Ni₂O_(7-δ)"),
        (r"$e^{6 \Delta {\cal N}}$", "e^(6 Δ N)"),
        (r"$\vec{Q}$, $\dot{P}$, $\ddot{x}$, $\tilde{O}(n^3)$", "Q⃗, Ṗ, ẍ, Õ(n³)"),
        (r"$\overline{G}$ and $\overline{MS}$", "G̅ and M̅S̅"),
        (r"$\mathrm{t \bar{t}}$ events", "t t̄ events"),
        (r"$\sin\theta$, $\log_{10} x$", "sin θ, log₁₀ x"),
        (r"${1\over 2}$ and $\frac{a+1}{b}$", "1/2 and (a+1)/b"),
        (r"$0.84 \pm $0.04, $0.83 \pm $0.02", "0.84 ± 0.04, 0.83 ± 0.02"),
        (r"within $\sim$97% of the data", "within ∼97% of the data"),
        (r"basis$\unicode{x2013}$the", "basis–the"),
        (r"$(\alpha,\beta)\in\mathbb{R}\times\mathbb{C}$", "(α,β)∈ℝ×ℂ"),
        # An unknown command keeps its braces and (converted) arguments, apart from letters.
        (r"$\ion{N}{\alpha}$", r"\ion{N}{α}"),
        (r"$\foo\mathrm{x}$", r"\foo x"),
        (r"$\foo x$", r"\foo x"),
        (r"$[V\atop k]_q$", r"[V\atop k]_q"),
    ],
)
def test_tex_becomes_readable_text(tex: str, text: str) -> None:
    assert tex_plain(tex) == unicodedata.normalize("NFC", text)


def test_a_display_and_a_lone_or_escaped_dollar() -> None:
    assert tex_plain(r"a \begin{equation*} x^2 \end{equation*} b") == "a x² b"
    assert tex_plain(r"a $$\alpha$$ b \[y_1\] c") == "a α b y₁ c"
    assert tex_plain(r"costing under $3 and finishing") == "costing under $3 and finishing"
    assert tex_plain(r"it costs \$5 for $x$") == "it costs $5 for x"


def _glued(source: str, converted: str) -> list[str]:
    """Commands in `converted` that are not commands of `source`: one run into letters."""
    return [
        name
        for name in COMMAND.findall(converted)
        if not re.search(r"\\" + name + r"(?![A-Za-z])", source)
    ]


def test_every_title_and_abstract_of_a_recorded_arxiv_feed_is_left_without_raw_math() -> None:
    items = [arxiv_rss.normalise(raw) for raw in arxiv_rss.parse(fixture_bytes(FEED)).entries]
    assert len(items) == 1504
    with_math = 0
    for item in items:
        title = clean_title(item.title)
        abstract = clean_abstract(item.abstract, title=title)
        for source in (title, abstract):
            with_math += "$" in source
            text = tex_plain(source)
            assert not DOLLAR_MATH.search(text), (item.key, text)
            # The only dollars left are amounts ("costing under $3").
            assert all(text[m.end() : m.end() + 1].isdigit() for m in re.finditer(r"\$", text))
            assert not _glued(source, text), (item.key, _glued(source, text), text)
    assert with_math > 500
    titles = {i.key: tex_plain(clean_title(i.title)) for i in items}
    assert titles["2411.18209"].startswith("Measurements of tt̄ in association with charm")
    assert titles["2407.01311"].startswith("Elastic scattering at √s = 6 GeV up to √s = 13 TeV")


def test_math_nested_beyond_any_formula_is_shown_as_its_source() -> None:
    deep = "{" * 5000 + "x" + "}" * 5000
    assert tex_plain(f"a ${deep}$ b") == f"a {deep} b"
    assert tex_plain("$" + r"\sqrt" * 3000 + "x$").endswith("x")
