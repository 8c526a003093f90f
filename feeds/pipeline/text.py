"""Feed text as readers see it: stray HTML markup, TeX text macros and journal boilerplate
made plain. TeX math (`$…$`) is kept for KaTeX.

Run on every paper before it is stored (`paper_sanitise`) and again when one is shown
(`feeds.labels.paper_card`), so rows stored before a rule existed read the same. Each
function is idempotent: cleaning clean text changes nothing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser

from feeds.sources.common import tex_to_unicode

# Math that KaTeX renders (`$$…$$`, `$…$`; `\(…\)` and `\[…\]` too): left exactly as written.
# `$a<b>c$` is not markup, and `\textbf` in math is KaTeX's business.
_MATH = re.compile(
    r"\$\$.+?\$\$|(?<!\\)\$(?:\\.|[^$\\])+?\$|\\\(.+?\\\)|\\\[.+?\\\]"
    r"|\\begin\{(?P<env>[A-Za-z*]+)\}.*?\\end\{(?P=env)\}",
    re.DOTALL,
)
# Any other command with arguments (`\cite{x}`, `\ion{N}{ii}`, `\mathbb{R}`) is kept whole;
# the one-letter accents (`\v{c}`, `\H{o}`) are text and become letters.
_OTHER_COMMAND = re.compile(r"\\(?![cvHurk]\b)[A-Za-z]+\*?(?:\s*\{[^{}]*\})+")

# Entities with their semicolon only: "AT&T" and "R&D" stay as they are.
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Tags a title or plain abstract may carry by mistake (journal titles arrive with `<i>`,
# `<sub>`, or escaped as `&lt;i&gt;`; JATS's `<italic>`, Wiley's small caps `<scp>`) and any
# namespaced tag (`<mml:mi>`, `<jats:title>`): dropped, their words kept. Only these names,
# so text such as `x<s` or `1 < 2` is never taken for a tag.
_INLINE_TAGS = (
    "i|b|em|strong|sub|sup|u|s|small|big|tt|span|font|sc|scp|italic|bold|underline|mark|abbr|"
    "a|inline-formula|named-content|styled-content|monospace|roman|sans-serif|strike|overline|"
    "ext-link|uri|email|xref|inline-graphic|tex-math|"
    r"[A-Za-z][\w.-]*:[A-Za-z][\w.-]*"
)
_BLOCK_TAGS = "p|br|div|li|ul|ol|h[1-6]|blockquote"
_INLINE_TAG = re.compile(rf"</?(?:{_INLINE_TAGS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_BLOCK_TAG = re.compile(rf"</?(?:{_BLOCK_TAGS})(?:\s[^<>]*)?/?>", re.IGNORECASE)

# TeX text-mode macros, innermost first: `\emph{…}` and friends, `{\em …}`, links.
_TEXT_COMMAND = re.compile(
    r"\\(?:emph|text(?:it|bf|sl|tt|sc|sf|rm|up|md|normal)|underline|uline|mbox|text)"
    r"\s*\{([^{}]*)\}"
)
_TEXT_SWITCH = re.compile(
    r"\{\\(?:em|it|bf|sl|tt|sc|sf|rm|itshape|bfseries|scshape|slshape|ttfamily|sffamily|"
    r"rmfamily|upshape|mdseries|normalfont)(?![A-Za-z])\s*([^{}]*)\}"
)
_URL = re.compile(r"\\url\s*\{([^{}]*)\}")
_HREF = re.compile(r"\\href\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_QUOTED = re.compile(r"``(.*?)(?:''|\")", re.DOTALL)
# `\$` stays escaped: a bare `$` would open math for KaTeX.
_ESCAPED = re.compile(r"\\([&%#_])")
_FOOTNOTE = re.compile(r"\s*\\footnote\s*\{([^{}]*)\}")
_EM_DASH = re.compile(r"(?<!-)---(?!-)")
# `--` between words or numbers (`Pöschl--Teller`, `1958--2022`, `A -- B`), not an option
# such as `--help` and not an HTML comment's `<!--`.
_EN_DASH = re.compile(r"(?<![-!<\s])--(?![->\s])|(?<=\s)--(?=\s)")
# Greek letters written in text mode (`{\Lambda}CDM`), which KaTeX never sees.
_GREEK = {
    name: chr(code)
    for name, code in [
        ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4),
        ("epsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7), ("theta", 0x3B8),
        ("iota", 0x3B9), ("kappa", 0x3BA), ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD),
        ("xi", 0x3BE), ("pi", 0x3C0), ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4),
        ("upsilon", 0x3C5), ("phi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9),
        ("Gamma", 0x393), ("Delta", 0x394), ("Theta", 0x398), ("Lambda", 0x39B),
        ("Xi", 0x39E), ("Pi", 0x3A0), ("Sigma", 0x3A3), ("Upsilon", 0x3A5), ("Phi", 0x3A6),
        ("Psi", 0x3A8), ("Omega", 0x3A9),
    ]
}  # fmt: skip
_GREEK_COMMAND = re.compile(
    r"\{\\(" + "|".join(_GREEK) + r")\}|\\(" + "|".join(_GREEK) + r")(?![A-Za-z])"
)

# "Nature, Published online: 18 July 2024; doi:10.1038/…" opening a journal item's text (Nature
# and its sister journals put it before the standfirst), as text and as the HTML paragraph.
# The DOI ends at a space, or where a capitalised word was glued straight to it by a feed
# that dropped the paragraph break ("…-02356-yEnzymes are"): that word is the text's first.
# (Nature's DOIs are lower-case, so a capital letter after a lower-case one is not theirs.)
_BOILERPLATE = re.compile(
    r"^[ \t]*(?:[A-Z][^,;\n]{0,80},\s*)?Published online:\s*[^;\n]{1,40};\s*"
    r"doi:\s*10\.\d{4,9}/\S+?(?=\s|$|(?<=[a-z\d])[A-Z][a-z])[ \t]*",
    re.MULTILINE,
)
_BOILERPLATE_HTML = re.compile(
    r"<p>\s*(?:[A-Z][^,;<]{0,80},\s*)?Published online:\s*[^;<]{1,40};\s*"
    r"(?:<a\b[^<>]*>\s*doi:\s*10\.[^<]*</a>|doi:\s*10\.\d{4,9}/[^\s<]+)\s*</p>\s*"
)
# Layers of nested markup and macros unwrapped at most; deeper ones are left as they are.
_MAX_PASSES = 20
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_ALL_SPACE = re.compile(r"\s+")


def _outside(pattern: re.Pattern[str], value: str, change: Callable[[str], str]) -> str:
    """`value` with `change` applied to every stretch that `pattern` does not match."""
    out: list[str] = []
    start = 0
    for match in pattern.finditer(value):
        out.append(change(value[start : match.start()]))
        out.append(match.group(0))
        start = match.end()
    out.append(change(value[start:]))
    return "".join(out)


def outside_math(value: str, change: Callable[[str], str]) -> str:
    """`value` with `change` applied to the text between its TeX math, the math left as is."""
    if "$" not in value and "\\" not in value:
        return change(value)
    return _outside(_MATH, value, change)


def _markup_to_text(value: str) -> str:
    """Tags dropped (escaped ones too) and entities decoded, in text that is not HTML."""
    if "&" in value:
        value = _ENTITY.sub(lambda m: html.unescape(m.group(0)), value)
    if "<" not in value:
        return value
    return _INLINE_TAG.sub("", _BLOCK_TAG.sub(" ", value))


def _tex_to_text(value: str) -> str:
    """TeX text macros as plain text: emphasis unwrapped, quotes, dashes, accents, escapes."""
    if "\\" in value or "{" in value:
        value = _TEXT_COMMAND.sub(r"\1", value)
        value = _TEXT_SWITCH.sub(r"\1", value)
        value = _HREF.sub(r"\2 (\1)", _URL.sub(r"\1", value))
        if "\\footnote" in value:  # its leading \s* is tried at every position: costly
            value = _FOOTNOTE.sub(r" (\1)", value)
        value = _GREEK_COMMAND.sub(lambda m: _GREEK[m.group(1) or m.group(2)], value)
        value = _outside(_OTHER_COMMAND, value, lambda v: tex_to_unicode(_ESCAPED.sub(r"\1", v)))
    if "``" in value or "''" in value:
        value = (
            _QUOTED.sub("\u201c\\1\u201d", value).replace("``", "\u201c").replace("''", "\u201d")
        )
    if "--" in value:
        value = _EN_DASH.sub("\u2013", _EM_DASH.sub("\u2014", value))
    return value


def _plain(value: str) -> str:
    """Markup and TeX text macros resolved, to a fixed point: nested macros unwrap from the
    inside out, one layer a pass (every pass that changes something shortens the text)."""
    # Real text nests a few layers; hostile text thousands, each a pass over all of it.
    for _ in range(_MAX_PASSES):
        cleaned = _tex_to_text(_markup_to_text(value))
        if cleaned == value:
            break
        value = cleaned
    return value


# Formulas in journal titles and abstracts: MathML (`<mml:math>`, Wiley and Elsevier) and
# JATS `<tex-math>`, raw or escaped once more (`&lt;mml:math …&gt;`). Found as tags in one
# pass and paired up, so text full of unclosed openings costs no more than any other.
_FORMULA_TAG = re.compile(
    r"(?:<|&lt;)(?P<close>/?)(?P<name>(?:[A-Za-z][\w.-]*:)?(?:tex-)?math)\b"
    r"(?:[^<>&]|&(?!gt;|lt;))*?(?:>|&gt;)",
    re.IGNORECASE,
)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_TEX_DOCUMENT = re.compile(r"\\begin\{document\}(.*?)\\end\{document\}", re.DOTALL)
_TEX_DELIMITED = re.compile(r"^(?:\$\$(.*)\$\$|\$(.*)\$|\\\((.*)\\\)|\\\[(.*)\\\])$", re.DOTALL)
# Unicode's superscript and subscript forms, for scripts where every character has one (x²,
# x₁, xᵢᵃᵇ); otherwise `^` or plain, as `<sub>` (also digests.mathtext's, for emails).
SUPERSCRIPT: dict[str, str] = dict(
    zip(
        "0123456789+-−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεϵθιφϕχ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᵋᶿᶥᵠᵠᵡ",
        strict=True,
    )
) | {"∘": "°", "°": "°", "′": "′", "″": "″", "*": "*", "∗": "*", "⋆": "⋆", "†": "†", "‡": "‡"}
SUBSCRIPT: dict[str, str] = dict(
    zip(
        "0123456789+-−=()aehijklmnoprstuvxβγρφϕχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵩᵪ",
        strict=True,
    )
) | {"⊙": "⊙", ".": "."}  # on the baseline, a point reads well between subscript digits
_SUPERSCRIPTS = str.maketrans(SUPERSCRIPT)
_SUBSCRIPTS = str.maketrans(SUBSCRIPT)
# Nesting deeper than this is flattened to its words (real formulas nest a few levels).
_MAX_MATH_DEPTH = 40


class _MathNode:
    """One MathML element: its local name and children (elements or text)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.children: list[_MathNode | str] = []


class _MathTree(HTMLParser):
    """A forgiving MathML reader: prefixes dropped, unclosed elements closed at the end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _MathNode("math")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _MathNode(tag.rpartition(":")[2])
        self.stack[-1].children.append(node)
        self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_MathNode(tag.rpartition(":")[2]))

    def handle_endtag(self, tag: str) -> None:
        name = tag.rpartition(":")[2]
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].name == name:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _math_words(node: _MathNode | str) -> str:
    """A subtree's text in order (without annotations), however deep it nests."""
    out: list[str] = []
    pending: list[_MathNode | str] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            out.append(item.strip())
        elif not item.name.startswith("annotation"):
            pending.extend(reversed(item.children))
    return "".join(out)


def _script(text: str, table: dict[int, str], mark: str) -> str:
    """`text` as Unicode super/subscript when each character has one, else after `mark`."""
    if text and all(ord(c) in table for c in text):
        return text.translate(table)
    return mark + (text if len(text) <= 1 else f"({text})") if mark else text


def _math_text(node: _MathNode | str, depth: int = 0) -> str:
    """MathML read aloud as plain text: tokens in order, scripts as x² / x₁, fractions a/b."""
    if isinstance(node, str):
        return node.strip()
    if depth > _MAX_MATH_DEPTH:
        return _math_words(node)
    name = node.name
    if name.startswith("annotation"):
        return ""  # the same formula again, in TeX or another markup
    if name in ("mtext", "ms"):
        return "".join(c if isinstance(c, str) else _math_text(c, depth + 1) for c in node.children)
    if name == "mspace":
        return " "
    if not node.children or all(isinstance(c, str) for c in node.children):
        return _math_words(node)  # a token: <mi>, <mn>, <mo>
    texts = [_math_text(c, depth + 1) for c in node.children]
    parts = [t for c, t in zip(node.children, texts, strict=True) if not isinstance(c, str)]
    if name in ("msub", "msup", "msubsup") and len(parts) >= 2:
        base, rest = parts[0], parts[1:]
        sub = _script(rest[0], _SUBSCRIPTS, "") if name != "msup" else ""
        sup = rest[-1] if name != "msub" and (name == "msup" or len(rest) > 1) else ""
        return base + sub + (_script(sup, _SUPERSCRIPTS, "^") if sup else "")
    if name == "mfrac" and len(parts) == 2:
        return "/".join(p if len(p) <= 1 or p.isalnum() else f"({p})" for p in parts)
    if name in ("msqrt", "mroot") and parts:
        radicand = parts[0] if name == "mroot" or len(parts) == 1 else "".join(parts)
        index = _script(parts[1], _SUPERSCRIPTS, "") if name == "mroot" and len(parts) > 1 else ""
        return index + "√" + (radicand if len(radicand) <= 1 else f"({radicand})")
    return "".join(texts)


def _formula_text(island: str, name: str) -> str:
    """A formula element as text: MathML flattened, `<tex-math>` as TeX math for KaTeX."""
    if island.startswith("&"):
        island = html.unescape(island)
    if name.lower().endswith("tex-math"):
        inner = island[island.find(">") + 1 : island.rfind("<")]
        inner = _CDATA.sub(r"\1", inner)
        document = _TEX_DOCUMENT.search(inner)
        tex = html.unescape((document.group(1) if document else inner).strip())
        # Inline in a sentence, whichever delimiters the formula came with.
        tex = _TEX_DELIMITED.sub(lambda m: next(g for g in m.groups() if g is not None), tex)
        return f"${tex.strip()}$" if tex.strip() else ""
    tree = _MathTree()
    tree.feed(island)
    tree.close()
    return " ".join(_math_text(tree.root).split())


def _formulas_to_text(value: str) -> str:
    """`value` with each MathML or `<tex-math>` formula as text (see `_formula_text`)."""
    if ("<" not in value and "&lt;" not in value) or "math" not in value.lower():
        return value
    out: list[str] = []
    start = 0
    opened: re.Match[str] | None = None
    for tag in _FORMULA_TAG.finditer(value):
        if opened is None:
            if not tag["close"]:
                opened = tag
            continue
        if tag["close"] and tag["name"].lower() == opened["name"].lower():
            out.append(value[start : opened.start()])
            text = _formula_text(value[opened.start() : tag.end()], opened["name"])
            out.append(text)
            start, opened = tag.end(), None
    out.append(value[start:])
    return "".join(out)


def clean_title(value: str) -> str:
    """A title as plain text on one line: no markup, TeX text macros resolved, math kept."""
    value = _formulas_to_text(value or "")
    return _ALL_SPACE.sub(" ", outside_math(value, _plain)).strip()


def _same_text(a: str, b: str) -> bool:
    """Equal once case, spacing and a final full stop are ignored."""

    def norm(v: str) -> str:
        return _ALL_SPACE.sub(" ", v).strip().rstrip(".").casefold()

    # Lengths far apart cannot be the same words: skip normalising a whole abstract.
    return bool(a) and len(a) <= 2 * len(b) + 20 and norm(a) == norm(b)


def clean_abstract(value: str, *, title: str = "") -> str:
    """A plain-text abstract: as `clean_title` (paragraph breaks kept), without journal
    boilerplate; "" when nothing but the (cleaned) `title` is left, as Nature's feed sends
    for some items."""
    text = outside_math(_formulas_to_text(value or ""), _plain)
    if "Published online:" in text:
        text = _BOILERPLATE.sub("", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines()).strip()
    return "" if _same_text(text, title) else text


def clean_abstract_html(value: str, *, title: str = "") -> str:
    """Sanitised abstract HTML without the journal's boilerplate paragraph; "" when only the
    (cleaned) `title` is left. The input must be nh3 output: only whole paragraphs go."""
    markup = _BOILERPLATE_HTML.sub("", value or "").strip()
    words = _ALL_SPACE.sub(" ", html.unescape(_BLOCK_TAG.sub(" ", _INLINE_TAG.sub("", markup))))
    return "" if not words.strip() or _same_text(words, title) else markup
