"""TeX math as readable plain text, for email (no KaTeX in a mail client).

`$M_\\odot$` becomes "M⊙", `$\\alpha$` "α", `$x^{2}$` "x²", `$10^{-3}$` "10⁻³",
`$t\\bar{t}$` "tt̄", `$\\mathfrak{h}$` "𝔥", `$\\Delta\\mathrm{BIC}$` "ΔBIC". Math is read token
by token (a small TeX reader, not text substitutions, so a command never runs into the
letters of its neighbour's argument): symbols become Unicode, font commands (`\\mathrm`,
`\\texttt`, `\\text` …) give their argument (in Unicode's double-struck, fraktur and script
letters for `\\mathbb`, `\\mathfrak`, `\\mathcal`), accents become combining marks, scripts
become Unicode sub- and superscripts where Unicode has every character (else `T_eff`,
`e^(a/b)`). What has no Unicode form keeps its TeX source without the dollars: an unknown
command with its braces and (converted) arguments. Math is found as arXiv's MathJax finds it:
`$…$` (spaces inside allowed), `$$…$$`, `\\(…\\)`, `\\[…\\]` and display environments; a `$`
before an amount in running text ("costs $5 and $6") is no math.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from feeds.pipeline.text import SUBSCRIPT, SUPERSCRIPT

SYMBOLS: dict[str, str] = {
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "varkappa": "ϰ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "varpi": "ϖ",
    "rho": "ρ", "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ",
    "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "digamma": "ϝ",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "varGamma": "Γ",
    "varDelta": "Δ", "varTheta": "Θ", "varLambda": "Λ", "varPi": "Π", "varSigma": "Σ",
    "varPhi": "Φ", "varPsi": "Ψ", "varOmega": "Ω",
    # Letters and constants
    "odot": "⊙", "oplus": "⊕", "ominus": "⊖", "otimes": "⊗", "oslash": "⊘", "star": "⋆",
    "hbar": "ħ", "hslash": "ℏ", "ell": "ℓ", "AA": "Å", "circ": "∘", "degree": "°",
    "prime": "′", "partial": "∂", "nabla": "∇", "infty": "∞", "aleph": "ℵ", "beth": "ℶ",
    "Re": "ℜ", "Im": "ℑ", "wp": "℘", "imath": "ı", "jmath": "ȷ", "dagger": "†",
    "ddagger": "‡", "dag": "†", "ddag": "‡", "bullet": "•", "checkmark": "✓", "flat": "♭",
    "sharp": "♯", "natural": "♮", "angle": "∠", "triangle": "△", "Box": "□", "square": "□",
    "blacksquare": "■", "diamond": "⋄", "Diamond": "◇", "bigstar": "★", "S": "§", "P": "¶",
    "copyright": "©", "pounds": "£", "euro": "€", "backslash": "\\", "surd": "√",
    "top": "⊤", "bot": "⊥", "emptyset": "∅", "varnothing": "∅", "Bbbk": "𝕜",
    "textendash": "–", "textemdash": "—",
    # Number sets as papers define them (`\newcommand{\Z}{\mathbb{Z}}`)
    "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "R": "ℝ", "C": "ℂ", "NN": "ℕ", "ZZ": "ℤ", "QQ": "ℚ",
    "RR": "ℝ", "CC": "ℂ",
    # Relations
    "sim": "∼", "simeq": "≃", "approx": "≈", "cong": "≅", "propto": "∝", "equiv": "≡",
    "neq": "≠", "ne": "≠", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "leqslant": "⩽",
    "geqslant": "⩾", "ll": "≪", "gg": "≫", "lll": "⋘", "ggg": "⋙", "lesssim": "≲",
    "gtrsim": "≳", "lessapprox": "⪅", "gtrapprox": "⪆", "asymp": "≍", "doteq": "≐",
    "triangleq": "≜", "coloneqq": "≔", "prec": "≺", "succ": "≻", "preceq": "⪯",
    "succeq": "⪰", "perp": "⊥", "parallel": "∥", "mid": "∣", "nmid": "∤", "models": "⊨",
    "vdash": "⊢", "dashv": "⊣", "in": "∈", "notin": "∉", "ni": "∋", "subset": "⊂",
    "subseteq": "⊆", "subsetneq": "⊊", "supset": "⊃", "supseteq": "⊇", "supsetneq": "⊋",
    "sqsubseteq": "⊑", "sqsupseteq": "⊒", "lhd": "⊲", "rhd": "⊳", "unlhd": "⊴",
    "unrhd": "⊵", "trianglelefteq": "⊴", "trianglerighteq": "⊵",
    # Operators
    "times": "×", "cdot": "·", "cdotp": "·", "pm": "±", "mp": "∓", "div": "÷", "ast": "∗",
    "setminus": "∖", "smallsetminus": "∖", "wedge": "∧", "land": "∧", "vee": "∨",
    "lor": "∨", "neg": "¬", "lnot": "¬", "cup": "∪", "cap": "∩", "sqcup": "⊔",
    "sqcap": "⊓", "uplus": "⊎", "wr": "≀", "rtimes": "⋊", "ltimes": "⋉", "sum": "∑", "prod": "∏", "coprod": "∐",
    "int": "∫", "iint": "∬", "iiint": "∭", "oint": "∮", "bigcup": "⋃", "bigcap": "⋂",
    "bigoplus": "⨁", "bigotimes": "⨂", "bigodot": "⨀", "bigvee": "⋁", "bigwedge": "⋀",
    "bigsqcup": "⨆", "biguplus": "⨄", "forall": "∀", "exists": "∃", "nexists": "∄",
    "colon": ":", "vert": "|", "Vert": "‖", "lvert": "|", "rvert": "|", "lVert": "‖",
    "rVert": "‖", "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊",
    "rfloor": "⌋", "lbrace": "{", "rbrace": "}", "lbrack": "[", "rbrack": "]",
    # Arrows
    "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←", "leftrightarrow": "↔",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "Leftrightarrow": "⇔", "iff": "⟺",
    "implies": "⟹", "impliedby": "⟸", "mapsto": "↦", "longmapsto": "⟼",
    "longrightarrow": "⟶", "longleftarrow": "⟵", "longleftrightarrow": "⟷",
    "Longrightarrow": "⟹", "Longleftarrow": "⟸", "Longleftrightarrow": "⟺",
    "hookrightarrow": "↪", "hookleftarrow": "↩", "uparrow": "↑", "downarrow": "↓",
    "updownarrow": "↕", "Uparrow": "⇑", "Downarrow": "⇓", "nearrow": "↗", "searrow": "↘",
    "rightleftharpoons": "⇌", "leftrightharpoons": "⇋", "rightharpoonup": "⇀",
    "twoheadrightarrow": "↠", "rightrightarrows": "⇉", "leadsto": "⇝",
    # Dots
    "ldots": "…", "cdots": "⋯", "dots": "…", "dotsc": "…", "dotsb": "⋯", "vdots": "⋮",
    "ddots": "⋱",
    # Spacing
    "quad": " ", "qquad": " ", "enspace": " ", "thinspace": " ", "medspace": " ",
    "thickspace": " ", "space": " ", "nobreakspace": " ",
}  # fmt: skip


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Operator names, printed as words with a space before a letter that follows (`\sin\theta`).
WORDS = _names(
    "log ln lg exp sin cos tan cot sec csc sinh cosh tanh coth arcsin arccos arctan max min "
    "sup inf lim liminf limsup det dim ker deg gcd lcm hom arg Pr mod bmod tr Tr rank sgn "
    "diag"
)
# Commands that read as nothing: sizes, styles, spacing, `\left`, `\limits` …
NOTHING = _names(
    "displaystyle textstyle scriptstyle scriptscriptstyle rm it bf sf tt cal mit em sl sc "
    "boldmath unboldmath normalfont tiny scriptsize footnotesize small normalsize large "
    "Large LARGE huge Huge limits nolimits nonumber notag allowbreak relax strut "
    "negthinspace negmedspace negthickspace protect left right middle big Big bigg Bigg "
    "bigl bigr Bigl Bigr biggl biggr Biggl Biggr bigm Bigm biggm Biggm"
)
# Sizes before a delimiter: `\left.` has an invisible one.
_DELIMITER_SIZES = _names(
    "left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr "
    "bigm Bigm biggm Biggm"
)
# Commands whose one argument is dropped (labels, colours, invisible boxes, MathJax's
# `\require{…}`).
DROPPED = _names("label hspace vspace phantom hphantom vphantom color require hskip mkern")
_STARRED = DROPPED | {"operatorname", "tag"}
# Combining marks of the accents (on every character of a longer argument).
ACCENTS: dict[str, str] = {
    "bar": "\u0304", "overline": "\u0305", "widebar": "\u0305", "hat": "\u0302",
    "widehat": "\u0302", "tilde": "\u0303", "widetilde": "\u0303", "vec": "\u20d7",
    "overrightarrow": "\u20d7", "overleftarrow": "\u20d6", "dot": "\u0307", "ddot": "\u0308",
    "dddot": "\u20db", "check": "\u030c", "breve": "\u0306", "acute": "\u0301",
    "grave": "\u0300", "mathring": "\u030a", "underline": "\u0332", "underbar": "\u0331",
    "utilde": "\u0330",
}  # fmt: skip


def _letters(capital: int, small: int, holes: dict[str, str]) -> dict[str, str]:
    """A Unicode alphabet from its A and a; `holes`: letters Unicode had encoded before."""
    table = {chr(65 + n): chr(capital + n) for n in range(26)}
    table.update({chr(97 + n): chr(small + n) for n in range(26)})
    return table | holes


_DOUBLE_STRUCK = _letters(
    0x1D538, 0x1D552, {"C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ", "Z": "ℤ"}
) | {str(n): chr(0x1D7D8 + n) for n in range(10)}
_FRAKTUR = _letters(0x1D504, 0x1D51E, {"C": "ℭ", "H": "ℌ", "I": "ℑ", "R": "ℜ", "Z": "ℨ"})
_SCRIPT = _letters(
    0x1D49C,
    0x1D4B6,
    {"B": "ℬ", "E": "ℰ", "F": "ℱ", "H": "ℋ", "I": "ℐ", "L": "ℒ", "M": "ℳ", "R": "ℛ",
     "e": "ℯ", "g": "ℊ", "o": "ℴ"},
)  # fmt: skip
# Commands whose one argument is shown: in a Unicode alphabet, or as it is (None).
FONTS: dict[str, dict[str, str] | None] = {
    "mathbb": _DOUBLE_STRUCK, "Bbb": _DOUBLE_STRUCK, "mathbbm": _DOUBLE_STRUCK,
    "mathfrak": _FRAKTUR, "frak": _FRAKTUR, "mathcal": _SCRIPT, "mathscr": _SCRIPT,
    **dict.fromkeys(_names(
        "mathrm mathit mathbf mathsf mathtt mathnormal mathup boldsymbol bm pmb text textrm "
        "textit textbf texttt textsf textsc textup textmd textsl textnormal emph mbox hbox "
        "fbox boxed mathop mathbin mathrel mathord mathpunct mathinner underbrace overbrace "
        "substack displaylimits ensuremath smash cancel bcancel xcancel"
    )),
}  # fmt: skip

# A script without a Unicode form for every character: `T_eff`, `10^11.4`; other text in
# parentheses (`e^(a/b)`, `O_(7-δ)`).
_BARE_SCRIPT = re.compile(r"(?:[^\W_]|\.)+")

_TOKEN = re.compile(r"\\([A-Za-z]+)|\\(.)|(\s+)|(.)", re.DOTALL)
# Environments of display math (an abstract's `\begin{align*} … \end{align*}`).
_DISPLAY = (
    r"equation|align|alignat|flalign|gather|multline|eqnarray|displaymath|math|split|cases|"
    r"array|[pbBvV]?matrix|smallmatrix"
)
# What opens math in running text, or escapes a dollar.
_OPEN = re.compile(r"\\\$|\$\$|\$|\\\(|\\\[|\\begin\{(" + _DISPLAY + r")(\*?)\}")
# A `$` that closes inline math (not an escaped one).
_DOLLAR = re.compile(r"(?<!\\)\$")
# Between dollars, what marks TeX rather than prose.
_TEX_MARK = re.compile(r"[\\^_{}=<>]")
_WORD = re.compile(r"[A-Za-z]{2,}")
_SPACES = re.compile(r"\s+")
_MATRICES = {"pmatrix": "()", "bmatrix": "[]", "Bmatrix": "{}", "vmatrix": "||", "Vmatrix": "‖‖"}


@dataclass(slots=True)
class _Out:
    """Text being written; a word (an operator name, an unknown command) is kept apart from
    a letter that follows it."""

    parts: list[str] = field(default_factory=list)
    word: bool = False

    def add(self, text: str, *, word: bool = False, script: bool = False) -> None:
        if not text:
            return
        if self.word and not script and text[0].isalnum():
            self.parts.append(" ")
        self.parts.append(text)
        if not script:
            self.word = word

    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True, slots=True)
class _Token:
    """A TeX token: cmd (a control word), sym (a control symbol), space or char."""

    kind: str
    value: str


# Groups and arguments nested deeper than this are no real formula: it is shown as its source.
_MAX_DEPTH = 60


class _TooDeep(Exception):
    pass


class _Reader:
    """One math expression's tokens, read into text."""

    def __init__(self, tex: str) -> None:
        self.tokens = [
            _Token("cmd", m[1])
            if m[1]
            else _Token("sym", m[2])
            if m[2]
            else _Token("space", " ")
            if m[3]
            else _Token("char", m[4])
            for m in _TOKEN.finditer(tex)
        ]
        self.at = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def skip_spaces(self) -> None:
        while (token := self.peek()) is not None and token.kind == "space":
            self.at += 1

    def group(self) -> str:
        """The text up to the `}` that closes a group (or to the end)."""
        out = _Out()
        above = ""  # left of `\over`
        over = ""
        while (token := self.peek()) is not None:
            self.at += 1
            if token == _Token("char", "}"):
                break
            if token.kind == "cmd" and token.value in ("over", "choose"):
                above, over, out = out.text(), token.value, _Out()
                continue
            self.item(token, out)
        if over == "over":
            return f"{_grouped(above)}/{_grouped(out.text())}"
        if over == "choose":
            return f"({above.strip()} choose {out.text().strip()})"
        return out.text()

    def raw(self) -> str:
        """A `{…}` argument's source as it is ("" when none follows)."""
        self.skip_spaces()
        if self.peek() != _Token("char", "{"):
            return ""
        self.at += 1
        depth, parts = 1, []
        while (token := self.peek()) is not None:
            self.at += 1
            if token == _Token("char", "{"):
                depth += 1
            elif token == _Token("char", "}"):
                depth -= 1
                if depth == 0:
                    break
            parts.append("\\" + token.value if token.kind in ("cmd", "sym") else token.value)
        return "".join(parts)

    def optional(self) -> str:
        """A `[…]` argument's text ("" when none follows)."""
        self.skip_spaces()
        if self.peek() != _Token("char", "["):
            return ""
        self.at += 1
        out = _Out()
        while (token := self.peek()) is not None:
            self.at += 1
            if token == _Token("char", "]"):
                break
            self.item(token, out)
        return out.text()

    def argument(self) -> str:
        """The next argument's text: a group, or one token (`\\bar t`, `^\\prime`)."""
        self.skip_spaces()
        token = self.peek()
        if token is None:
            return ""
        self.at += 1
        if token == _Token("char", "{"):
            return self.group()
        out = _Out()
        self.item(token, out)
        return out.text()

    def read(self) -> str:
        """All of it."""
        out = _Out()
        while (token := self.peek()) is not None:
            self.at += 1
            if token != _Token("char", "}"):  # a stray closing brace is dropped
                self.item(token, out)
        return out.text()

    def item(self, token: _Token, out: _Out) -> None:
        """Write one token (and what it takes as arguments) to `out`."""
        # Every nested group and argument is read through here: count how deep.
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _TooDeep
        try:
            self._item(token, out)
        finally:
            self.depth -= 1

    def _item(self, token: _Token, out: _Out) -> None:
        kind, value = token.kind, token.value
        if kind == "space":
            out.add(" ")
        elif kind == "cmd":
            self.command(value, out)
        elif kind == "sym":
            out.add(_control_symbol(value))
        elif value in "^_":
            out.add(_script(value, self.argument()), script=True)
        elif value == "{":
            out.add(self.group())
        elif value in "~&":
            out.add(" ")
        elif value != "$":  # `$` switching to math inside `\text{…}`
            out.add(value)

    def command(self, name: str, out: _Out) -> None:
        """Write one control word and its arguments to `out`."""
        if self.peek() == _Token("char", "*") and (name in FONTS or name in _STARRED):
            self.at += 1  # `\operatorname*{argmax}`, `\tag*{1}`, `\hspace*{1em}`
        if name in SYMBOLS:
            out.add(SYMBOLS[name])
        elif name in WORDS:
            out.add(name, word=True)
        elif name in NOTHING:
            if name in _DELIMITER_SIZES:
                self.skip_spaces()
                if self.peek() == _Token("char", "."):
                    self.at += 1
        elif name in FONTS:
            letters = FONTS[name]
            text = self.argument()
            out.add("".join(letters.get(ch, ch) for ch in text) if letters else text)
        elif name == "operatorname":
            out.add(self.argument(), word=True)
        elif name in ACCENTS:
            out.add(_accent(self.argument(), ACCENTS[name]))
        elif name in ("frac", "dfrac", "tfrac", "cfrac"):
            above, below = self.argument(), self.argument()
            out.add(f"{_grouped(above)}/{_grouped(below)}")
        elif name in ("binom", "dbinom", "tbinom"):
            above, below = self.argument(), self.argument()
            out.add(f"({above.strip()} choose {below.strip()})")
        elif name == "sqrt":
            index = self.optional().strip()
            radicand = self.argument()
            root = _script("^", index) if index else ""
            out.add(f"{root}√{_grouped(radicand)}")
        elif name in ("underset", "overset", "stackrel"):
            mark, base = self.argument(), self.argument()
            out.add(base)
            out.add(_script("_" if name == "underset" else "^", mark), script=True)
        elif name in ("textcolor", "colorbox"):
            self.raw()
            out.add(self.argument())
        elif name in ("mod", "bmod"):
            out.add(" mod ", word=True)
        elif name == "pmod":
            out.add(f" (mod {self.argument().strip()})")
        elif name == "not":
            out.add(_negated(self.argument()))
        elif name == "unicode":
            out.add(_code_point(self.raw()))
        elif name in DROPPED:
            self.raw()
        elif name == "tag":
            out.add(f" ({self.argument().strip()})")
        elif name in ("begin", "end"):
            self.environment(name, self.raw(), out)
        else:
            self.unknown(name, out)

    def environment(self, edge: str, name: str, out: _Out) -> None:
        """`\\begin{…}` and `\\end{…}` inside math: a matrix's brackets, else nothing (an
        array's column spec is skipped)."""
        if edge == "begin" and name.rstrip("*") in ("array", "tabular", "subarray", "alignat"):
            self.optional()
            self.raw()
        brackets = _MATRICES.get(name, "")
        if name == "cases" and edge == "begin":
            brackets = "{"
        if brackets:
            out.add(brackets[0] if edge == "begin" else brackets[1:])

    def unknown(self, name: str, out: _Out) -> None:
        """A command this reader does not know: its TeX source, its braced arguments kept
        (and converted), apart from a letter that follows."""
        text = "\\" + name
        while self.peek() == _Token("char", "{"):
            self.at += 1
            text += "{" + self.group() + "}"
        out.add(text, word=not text.endswith("}"))


def _control_symbol(char: str) -> str:
    if char in ",;:> ":
        return " "
    if char == "!":
        return ""
    if char == "\\":
        return "; "  # a line break in an array or a display
    if char == "|":
        return "‖"
    return char  # \{ \} \% \$ \& \# \_


def _grouped(text: str) -> str:
    """`text` as a fraction's part: bare when one word or number, else in parentheses."""
    text = text.strip()
    return text if re.fullmatch(r"[\w.′]+", text) else f"({text})"


def _script(kind: str, body: str) -> str:
    """A superscript (`^`) or subscript (`_`) in Unicode, when Unicode has every character;
    else written out (`T_eff`, `e^(a/b)`)."""
    compact = _SPACES.sub("", body)
    if not compact:
        return ""
    table = SUPERSCRIPT if kind == "^" else SUBSCRIPT
    if all(ch in table for ch in compact):
        return "".join(table[ch] for ch in compact)
    spaced = _SPACES.sub(" ", body).strip()
    if _BARE_SCRIPT.fullmatch(spaced) or len(spaced) == 1:
        return kind + spaced
    return f"{kind}({spaced})"


def _accent(text: str, mark: str) -> str:
    """Every character of `text` with the combining `mark` (composed where Unicode can)."""
    return unicodedata.normalize("NFC", "".join(ch + mark if ch.strip() else ch for ch in text))


_NEGATED = {"=": "≠", "∈": "∉", "⊂": "⊄", "⊆": "⊈", "⊃": "⊅", "⊇": "⊉", "∼": "≁", "≈": "≉",
            "≡": "≢", "<": "≮", ">": "≯", "≤": "≰", "≥": "≱", "∣": "∤", "∃": "∄"}  # fmt: skip


def _negated(text: str) -> str:
    text = text.strip()
    if text in _NEGATED:
        return _NEGATED[text]
    return unicodedata.normalize("NFC", text + "\u0338") if text else ""


def _code_point(spec: str) -> str:
    """MathJax's `\\unicode{x2013}` (or a decimal number) as its character."""
    spec = spec.strip()
    try:
        code = int(spec[1:], 16) if spec[:1] in "xX" else int(spec)
        return chr(code)
    except (ValueError, OverflowError):
        return ""


def math_plain(tex: str) -> str:
    """One TeX math expression (without its dollars) as readable text."""
    try:
        text = _Reader(tex).read()
    except _TooDeep:
        text = tex
    return unicodedata.normalize("NFC", _SPACES.sub(" ", text).strip())


def _amount(content: str) -> bool:
    """Whether the text after a `$` reads as an amount in prose ("$5 and $6", "$3 and …")
    rather than math: a digit first, words, and nothing of TeX."""
    return content[:1].isdigit() and not _TEX_MARK.search(content) and bool(_WORD.search(content))


def _closing(text: str, start: int, opener: str) -> tuple[int, int] | None:
    """Where the math opened by `opener` (ending at `start`) closes: (content end, end)."""
    if opener == "$":
        found = _DOLLAR.search(text, start)
        if found is None or "\n\n" in text[start : found.start()]:
            return None
        return found.start(), found.end()
    closer = {"$$": "$$", "\\(": "\\)", "\\[": "\\]"}.get(opener, "")
    if not closer:  # \begin{env}
        closer = "\\end{" + opener[len("\\begin{") : -1] + "}"
    end = text.find(closer, start)
    return None if end < 0 else (end, end + len(closer))


def tex_plain(text: str) -> str:
    """`text` with every TeX math expression turned into readable text (see module doc)."""
    if "$" not in text and "\\" not in text:
        return text
    out: list[str] = []
    at = 0
    while (found := _OPEN.search(text, at)) is not None:
        opener = found.group(0)
        out.append(text[at : found.start()])
        at = found.end()
        closing = None if opener == "\\$" else _closing(text, found.end(), opener)
        if closing is None or (opener == "$" and _amount(text[found.end() : closing[0]])):
            out.append("$" if opener == "\\$" else opener)
            continue
        content = text[found.end() : closing[0]]
        converted = math_plain(content)
        left = next((part[-1] for part in reversed(out[-2:]) if part), "")
        right = text[closing[1] : closing[1] + 1]
        # Spacing the source had inside the delimiters (`$0.84 \pm $0.04`), or display math,
        # keeps the math apart from the words around it.
        display = opener not in ("$", "\\(")
        if converted and left and not left.isspace() and (display or content[:1].isspace()):
            converted = " " + converted
        if converted and right and not right.isspace() and (display or content[-1:].isspace()):
            converted += " "
        out.append(converted)
        at = closing[1]
    out.append(text[at:])
    return "".join(out)
