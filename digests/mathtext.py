"""TeX math as readable plain text, for email (no KaTeX in a mail client).

`$M_\\odot$` becomes "M⊙", `$\\alpha$` "α", `$x^{2}$` "x²", `$10^{-3}$` "10⁻³". What has no
Unicode form keeps its TeX source without the dollars (`$\\frac{a}{b}$` → "a/b" where simple,
else the source), so nothing ever arrives as raw `$…$`.
"""

from __future__ import annotations

import re

SYMBOLS: dict[str, str] = {
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ",
    "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "φ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ",
    "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    # Astronomy and physics
    "odot": "⊙", "oplus": "⊕", "star": "⋆", "hbar": "ħ", "ell": "ℓ", "AA": "Å", "circ": "∘",
    "degree": "°", "prime": "′", "partial": "∂", "nabla": "∇", "infty": "∞",
    # Relations and operators
    "sim": "∼", "simeq": "≃", "approx": "≈", "propto": "∝", "equiv": "≡", "neq": "≠",
    "ne": "≠", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "ll": "≪", "gg": "≫",
    "lesssim": "≲", "gtrsim": "≳", "times": "×", "cdot": "·", "pm": "±", "mp": "∓",
    "div": "÷", "ast": "∗", "sum": "∑", "prod": "∏", "int": "∫", "sqrt": "√",
    "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩",
    "forall": "∀", "exists": "∃", "emptyset": "∅", "langle": "⟨", "rangle": "⟩",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "leftrightarrow": "↔",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "mapsto": "↦", "uparrow": "↑", "downarrow": "↓",
    "ldots": "…", "cdots": "⋯", "dots": "…", "log": "log", "ln": "ln", "exp": "exp",
    "sin": "sin", "cos": "cos", "tan": "tan", "max": "max", "min": "min", "lim": "lim",
    # Spacing and sizing that reads as nothing (or one space)
    ",": " ", ";": " ", ":": " ", "!": "", "quad": " ", "qquad": " ", " ": " ",
    "rm": "", "it": "", "bf": "", "cal": "", "displaystyle": "", "left": "", "right": "", "big": "", "Big": "", "bigg": "", "Bigg": "",
    "%": "%", "$": "$", "&": "&", "#": "#", "_": "_", "{": "{", "}": "}",
}  # fmt: skip
SUPERSCRIPT = dict(zip("0123456789+-=()niaeoxhklmpst", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵃᵉᵒˣʰᵏˡᵐᵖˢᵗ", strict=True))
SUBSCRIPT = dict(zip("0123456789+-=()aeoxhklmnpst", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜ", strict=True))
SUPERSCRIPT.update({"∘": "°", "′": "′", "*": "*", "⋆": "⋆", "−": "⁻"})
SUBSCRIPT.update({"⊙": "⊙", "−": "₋"})
# Commands whose argument is shown as it is (fonts, text, operators' names).
_PLAIN_ARG = re.compile(
    r"\\(?:mathrm|mathbf|mathit|mathsf|mathtt|mathcal|mathbb|mathscr|boldsymbol|bm|text|"
    r"textrm|textit|textbf|operatorname|rm|it|bf|mbox|hbox)\s*\{([^{}]*)\}"
)
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SQRT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([A-Za-z]+|[,;:! %$&#_{}])")
_SCRIPT = re.compile(r"([_^])\s*(\{([^{}]*)\}|\\[A-Za-z]+|.)")
# $$…$$, $…$ or \(…\) in running text, as pandoc reads them: an opening "$" is not followed
# by a space, a closing one not preceded by a space nor followed by a digit ("$5 and $6" is
# money); a "$" preceded by a backslash is a literal dollar.
_INLINE = re.compile(
    r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(?!\s)(.+?)(?<![\s\\])\$(?!\d)|\\\((.+?)\\\)", re.S
)


def _script(kind: str, body: str) -> str:
    table = SUPERSCRIPT if kind == "^" else SUBSCRIPT
    body = body.strip()
    if body and all(ch in table for ch in body):
        return "".join(table[ch] for ch in body)
    # No Unicode form for every character: keep the TeX reading of it.
    # (Braces kept as placeholders: the source's other braces are dropped afterwards.)
    return kind + (body if len(body) == 1 else "\x00" + body + "\x01")


def math_plain(tex: str) -> str:
    """One TeX math expression (without its dollars) as readable text."""
    text = tex
    for _ in range(3):  # nested \mathrm{\alpha_{x}} and the like, a few levels deep
        text = _PLAIN_ARG.sub(r"\1", text)
        text = _FRAC.sub(lambda m: f"{_group(m.group(1))}/{_group(m.group(2))}", text)
        text = _SQRT.sub(lambda m: "√" + _group(m.group(1)), text)
    text = _COMMAND.sub(lambda m: SYMBOLS.get(m.group(1), m.group(0)), text)

    def script(match: re.Match[str]) -> str:
        body = match.group(3) if match.group(3) is not None else match.group(2)
        return _script(match.group(1), body)

    text = _SCRIPT.sub(script, text)
    text = re.sub(r"(?<!\\)[{}]", "", text).replace("\x00", "{").replace("\x01", "}")
    return re.sub(r"\s+", " ", text).strip()


def _group(text: str) -> str:
    text = text.strip()
    return text if re.fullmatch(r"[\w.\\]+", text) else f"({text})"


def tex_plain(text: str) -> str:
    """`text` with every inline TeX expression turned into readable text (see module doc)."""
    if "$" not in text and "\\(" not in text:
        return text
    return _INLINE.sub(
        lambda m: math_plain(m.group(1) or m.group(2) or m.group(3) or ""), text
    ).replace("\\$", "$")
