"""Stored papers cleaned as new ones are at ingest (`feeds.pipeline.text`): no stray markup,
TeX text macros or journal boilerplate in titles and abstracts; sample sources named as the
real ones. Running it twice changes nothing; going back leaves the cleaned text.

Summary cards are keyed by a hash of title and abstract (`digests.cards.text_hash`): a
cleaned paper's cards move to the new hash, so no paper is summarised a second time; where
the paper already has a card at the new hash, the old one stays where it is (unread, as any
card of text a paper no longer has).

The cleaning is a frozen copy of `feeds.pipeline.text` (and `tex_to_unicode` of
`feeds.sources.common`) as it is when this migration is written: the live code changes and
may move, and this migration must clean the same way on every fresh install."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Callable

from django.db import migrations
from django.db.models import Exists, OuterRef, Q

# --- frozen: feeds.sources.common.tex_to_unicode ------------------------------------------

# TeX accent commands → Unicode combining marks (arXiv listings keep author names in TeX).
_TEX_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "c": "\u0327", "v": "\u030c", "H": "\u030b", "u": "\u0306", "r": "\u030a",
    "k": "\u0328",
}  # fmt: skip
_TEX_LETTERS = {
    "l": "ł", "L": "Ł", "o": "ø", "O": "Ø", "ss": "ß", "aa": "å", "AA": "Å", "ae": "æ",
    "AE": "Æ", "oe": "œ", "OE": "Œ", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ",
    "TH": "Þ", "dj": "đ", "DJ": "Đ", "ng": "ŋ", "NG": "Ŋ",
}  # fmt: skip
_TEX_SYMBOL_ACCENT = re.compile(r"""\\(['`^"~=.])\s*(?:\{\s*(\\?[A-Za-z])\s*\}|(\\?[A-Za-z]))""")
_TEX_LETTER_ACCENT = re.compile(r"\\([cvHurk])\s*(?:\{\s*(\\?[A-Za-z])\s*\}|\s+(\\?[A-Za-z]))")
_TEX_LETTER = re.compile(
    r"\{?\\(ss|aa|AA|ae|AE|oe|OE|dh|DH|th|TH|dj|DJ|ng|NG|[lLoOij])(?![A-Za-z])\s*\}?"
)
_TEX_BRACED_LETTER = re.compile(r"\{([^{}\\]*)\}")


def tex_to_unicode(text: str) -> str:
    """`Przemys{\\l}aw R\\'emy` → `Przemysław Rémy`: TeX accents in names as Unicode."""
    if "\\" not in text and "{" not in text:
        return text

    def letter(value: str) -> str:
        return _TEX_LETTERS.get(value[1:], value) if value.startswith("\\") else value

    def accent(match: re.Match[str]) -> str:
        # An accent goes on a plain i or j, not the dotless forms TeX asks for (\'{\i}).
        base = letter(match.group(2) or match.group(3)).replace("ı", "i").replace("ȷ", "j")
        return unicodedata.normalize("NFC", base + _TEX_ACCENTS[match.group(1)])

    text = _TEX_SYMBOL_ACCENT.sub(accent, text)
    text = _TEX_LETTER_ACCENT.sub(accent, text)
    text = _TEX_LETTER.sub(lambda m: _TEX_LETTERS[m.group(1)], text)
    return _TEX_BRACED_LETTER.sub(r"\1", text)


# --- frozen: feeds.pipeline.text ----------------------------------------------------------

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
# `<sub>`, or escaped as `&lt;i&gt;`; JATS's `<italic>`). Only these names, so text such as
# `x<s` or `1 < 2` is never taken for a tag.
_INLINE_TAGS = (
    "i|b|em|strong|sub|sup|u|s|small|big|tt|span|font|sc|italic|bold|underline|mark|abbr|"
    "a|inline-formula|named-content"
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
_BOILERPLATE = re.compile(
    r"^[ \t]*(?:[A-Z][^,;\n]{0,80},\s*)?Published online:\s*[^;\n]{1,40};\s*doi:\s*10\.\d{4,9}/\S+\s*",
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


def clean_title(value: str) -> str:
    """A title as plain text on one line: no markup, TeX text macros resolved, math kept."""
    return _ALL_SPACE.sub(" ", outside_math(value or "", _plain)).strip()


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
    text = outside_math(value or "", _plain)
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


# --- the migration -------------------------------------------------------------------------

# Only rows with something the cleaning could change are read: markup, entities, TeX, quotes,
# dashes, the boilerplate.
_MAYBE_DIRTY = r"[<&\\`{]|''|--|Published online:"
_SAMPLE_LABELS = {"sample-arxiv": "arXiv", "sample-nature": "Nature", "sample-biorxiv": "bioRxiv"}


def _text_hash(title, abstract):
    # digests.cards.text_hash as it is when this migration is written.
    return hashlib.sha256(f"{title}\n{abstract}".encode()).hexdigest()


def _save(Paper, Card, changed):
    Paper.objects.bulk_update([paper for paper, _ in changed], ["title", "abstract", "abstract_html"])
    for paper, old_hash in changed:
        new_hash = _text_hash(paper.title, paper.abstract)
        # A card is unique per paper, text, prompt version and model: one already at the new
        # hash keeps its place, and the old one is left unread rather than failing the update.
        taken = Card.objects.filter(
            paper_id=paper.pk,
            text_hash=new_hash,
            prompt_version=OuterRef("prompt_version"),
            model=OuterRef("model"),
        )
        Card.objects.filter(paper_id=paper.pk, text_hash=old_hash).exclude(Exists(taken)).update(
            text_hash=new_hash
        )


def clean_stored_text(apps, schema_editor):
    Paper = apps.get_model("feeds", "Paper")
    Source = apps.get_model("feeds", "Source")
    Card = apps.get_model("digests", "Card")
    rows = (
        Paper.objects.filter(
            Q(title__regex=_MAYBE_DIRTY)
            | Q(abstract__regex=_MAYBE_DIRTY)
            | Q(abstract_html__contains="Published online:")
        )
        .only("id", "title", "abstract", "abstract_html")
        .order_by("id")
    )
    changed = []
    for paper in rows.iterator(chunk_size=2000):
        title = clean_title(paper.title) or paper.title
        abstract = clean_abstract(paper.abstract, title=title)
        abstract_html = clean_abstract_html(paper.abstract_html, title=title)
        if (title, abstract, abstract_html) != (paper.title, paper.abstract, paper.abstract_html):
            old_hash = _text_hash(paper.title, paper.abstract)
            paper.title, paper.abstract, paper.abstract_html = title, abstract, abstract_html
            changed.append((paper, old_hash))
        if len(changed) >= 500:
            _save(Paper, Card, changed)
            changed = []
    _save(Paper, Card, changed)
    for slug, label in _SAMPLE_LABELS.items():
        Source.objects.filter(slug=slug, label__contains="(sample").update(label=label)


class Migration(migrations.Migration):
    # Cards live in digests; its first migration made them.
    dependencies = [("feeds", "0001_initial"), ("digests", "0001_initial")]

    operations = [migrations.RunPython(clean_stored_text, migrations.RunPython.noop)]
