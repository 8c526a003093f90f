"""Papers as BibTeX and RIS, for the paper page and for exporting saved lists.

Dates, journals and entry types come from `feeds.reference`; titles and abstracts are the
plain text readers see (`feeds.pipeline.text`), TeX math kept for arXiv papers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpResponse
from django.utils.http import content_disposition_header

from feeds.models import Paper, PaperSighting
from feeds.pipeline.text import clean_abstract, clean_title, outside_math
from feeds.reference import Reference, paper_reference

# Characters BibTeX (or LaTeX under it) treats specially outside math. Backslash, braces,
# `$` and `^` are left alone in arXiv titles and abstracts so their TeX keeps working; elsewhere
# they are escaped too.
_TEXT_SPECIALS = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_"}
_ALL_SPECIALS = {
    **_TEXT_SPECIALS,
    "\\": r"\textbackslash{}",
    # BibTeX counts every brace, escaped or not, when it looks for a field's end.
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "$": r"\$",
    "^": r"\^{}",
    "~": r"\~{}",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")


def _clean(value: str) -> str:
    """One line, no control or bidi-override characters."""
    return _SPACE.sub(" ", _CONTROL.sub("", value)).strip()


def _balance(value: str) -> str:
    """Drop unmatched braces so a stray `}` in a feed cannot end the BibTeX field early.

    BibTeX counts every brace, even after a backslash; `_braces_unescaped` has already
    rewritten `\\{` and `\\}`, so every brace here is one both BibTeX and bibtexparser count.
    """
    out: list[str] = []
    opened: list[int] = []  # where each brace still open was put in `out`
    for char in value:
        if char == "{":
            opened.append(len(out))
        elif char == "}":
            if not opened:
                continue
            opened.pop()
        out.append(char)
    # Surplus opening braces are those never closed: drop exactly them, so `^{N}` after an
    # unclosed `{` keeps its own pair.
    for idx in reversed(opened):
        del out[idx]
    # A trailing backslash would escape the closing brace of the field.
    return "".join(out).rstrip("\\")


# A TeX token: a control word, a control symbol, or one character.
_TEX_TOKEN = re.compile(r"\\(?:[A-Za-z]+|.)|.", re.DOTALL)


def _braces_unescaped(value: str, *, math: bool) -> str:
    """`\\{` and `\\}` as commands without a brace, and a line break `\\\\` kept off a
    brace that follows it.

    BibTeX counts an escaped brace as a brace while bibtexparser skips any brace after a
    backslash, so the two would end the field in different places (`\\left\\{` opened with
    `\\right.`). In math `\\lbrace`/`\\rbrace` typeset the same delimiter (`\\left\\lbrace`
    too); in text `\\textbraceleft{}` does.
    """
    if "\\" not in value:
        return value
    left, right = (r"\lbrace", r"\rbrace") if math else (r"\textbraceleft{}", r"\textbraceright{}")
    out: list[str] = []
    tokens = _TEX_TOKEN.findall(value)
    for i, token in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in ("\\{", "\\}"):
            token = left if token == "\\{" else right
            if math and after[:1].isalpha():  # `\{x` is `\lbrace x`, not `\lbracex`
                token += " "
        elif token == "\\\\" and after in ("{", "}"):
            token = "\\\\ "
        out.append(token)
    return "".join(out)


def _escape_tex_kept(value: str) -> str:
    """Escape `& % # _` outside math, keeping TeX math and commands (arXiv titles, abstracts);
    escaped braces rewritten so BibTeX and bibtexparser end the field at the same brace."""
    text = outside_math(
        _clean(value),
        lambda part: _braces_unescaped(
            re.sub(r"(?<!\\)([&%#_])", lambda m: _TEXT_SPECIALS[m.group(1)], part), math=False
        ),
    )
    # The text's escaped braces are gone; those left are in math.
    return _balance(_braces_unescaped(text, math=True))


def _escape_all(value: str) -> str:
    """Escape every BibTeX/LaTeX special (authors, journal names, URLs are not TeX)."""
    return "".join(_ALL_SPECIALS.get(c, c) for c in _clean(value))


def _surname(author: str) -> str:
    """The family name: "Ada Lovelace" → Lovelace, "Lovelace, Ada" → Lovelace."""
    author = _clean(author)
    if "," in author:
        return author.split(",", 1)[0].strip()
    parts = author.split()
    return parts[-1] if parts else ""


def _ascii_word(value: str) -> str:
    """Letters and digits only, accents folded: "Müller" → Muller."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", folded)


_STOPWORDS = {"a", "an", "the", "on", "of", "in", "for", "and", "to", "with", "towards"}


def _first_title_word(title: str) -> str:
    """The first meaningful word of the title, TeX and punctuation stripped."""
    plain = re.sub(r"\$[^$]*\$", " ", title)
    plain = re.sub(r"\\[A-Za-z]+", " ", plain)
    words = [_ascii_word(w) for w in plain.split()]
    words = [w for w in words if w]
    for word in words:
        if word.lower() not in _STOPWORDS:
            return word.lower()
    return words[0].lower() if words else ""


def _base_key(paper: Paper, ref: Reference) -> str:
    surname = _ascii_word(_surname(paper.authors[0])) if paper.authors else ""
    word = _first_title_word(clean_title(paper.title))
    return f"{surname.lower() or 'anon'}{ref.cited.year}{word}"


def _doi(paper: Paper) -> str:
    return paper.journal_doi or paper.doi


def _url(paper: Paper) -> str:
    links = paper.links or {}
    for name in ("abs", "doi", "html", "pdf"):
        value = links.get(name)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    if _doi(paper):
        return f"https://doi.org/{_doi(paper)}"
    return ""


def _tex_text(paper: Paper, value: str) -> str:
    """A title or abstract for BibTeX: arXiv's keeps its TeX math, anyone else's is plain
    text whose every special character is escaped."""
    return _escape_tex_kept(value) if paper.arxiv_id else _escape_all(value)


def _bibtex_entry(paper: Paper, ref: Reference, key: str) -> str:
    title = clean_title(paper.title)
    fields: list[tuple[str, str]] = [("title", "{" + _tex_text(paper, title) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(_escape_all(a) for a in paper.authors)))
    if ref.is_article:
        fields.append(("journal", _escape_all(ref.journal)))
        for name, value in (("volume", ref.volume), ("number", ref.number)):
            if value:
                fields.append((name, _escape_all(value)))
        if ref.pages:
            fields.append(("pages", _escape_all(ref.pages).replace("-", "--")))
    elif ref.server and ref.server != "arXiv":
        fields.append(("howpublished", ref.server))
    fields.append(("year", str(ref.cited.year)))
    if ref.cited.month:
        # A month macro, unbraced: styles print it in their own language and form.
        fields.append(("month", _MONTHS[ref.cited.month - 1]))
    if paper.journal_ref and not ref.is_article:
        fields.append(("note", _escape_all(clean_title(paper.journal_ref))))
    if _doi(paper):
        fields.append(("doi", _escape_all(_doi(paper))))
    if paper.arxiv_id:
        fields.append(("eprint", _escape_all(paper.arxiv_id)))
        fields.append(("archivePrefix", "arXiv"))
        if paper.primary_category:
            fields.append(("primaryClass", _escape_all(paper.primary_category)))
    url = _url(paper)
    if url:
        # \url-style fields are verbatim in biblatex; only braces would break the entry.
        fields.append(("url", url.replace("{", "%7B").replace("}", "%7D")))
    abstract = clean_abstract(paper.abstract, title=title)
    if abstract:
        fields.append(("abstract", _tex_text(paper, abstract)))
    kind = "article" if ref.is_article else "misc"
    body = ",\n".join(
        f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}"
        for name, value in fields
    )
    return f"@{kind}{{{key},\n{body}\n}}\n"


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _with_references(papers: Iterable[Paper]) -> list[tuple[Paper, Reference]]:
    """Each paper with how it is cited; the sources of papers whose sightings are not
    prefetched yet are read in one query."""
    papers = list(papers)
    sightings = Prefetch(
        "sightings",
        queryset=PaperSighting.objects.select_related("source").order_by("first_seen", "id"),
    )
    prefetch_related_objects([p for p in papers if p.pk is not None], sightings)
    return [(paper, paper_reference(paper)) for paper in papers]


def bibtex(papers: Iterable[Paper]) -> str:
    """One BibTeX entry per paper, keys like `lovelace2024analytical`, deduplicated."""
    entries: list[str] = []
    used: set[str] = set()
    for paper, ref in _with_references(papers):
        base = _base_key(paper, ref)
        key, n = base, 0
        while key in used:
            n += 1
            key = base + _suffix(n)
        used.add(key)
        entries.append(_bibtex_entry(paper, ref, key))
    return "\n".join(entries)


def _suffix(n: int) -> str:
    """a, b, …, z, aa, ab, … as BibTeX tools do for same-author-same-year keys."""
    letters = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters


def _ris_line(tag: str, value: str) -> str:
    return f"{tag}  - {_clean(value)}\n"


def _ris_entry(paper: Paper, ref: Reference) -> str:
    title = clean_title(paper.title)
    # RIS has no preprint type; "unpublished work" is the standard reading of one.
    lines = [_ris_line("TY", "JOUR" if ref.is_article else "UNPB")]
    lines.append(_ris_line("TI", title))
    lines.extend(_ris_line("AU", author) for author in paper.authors if _clean(author))
    lines.append(_ris_line("PY", str(ref.cited.year)))
    lines.append(_ris_line("DA", ref.cited.slashed()))
    if ref.is_article:
        # T2 is the journal for Zotero and EndNote, JO its (often abbreviated) name.
        lines.append(_ris_line("T2", ref.journal))
        lines.append(_ris_line("JO", ref.journal))
        if ref.volume:
            lines.append(_ris_line("VL", ref.volume))
        if ref.number:
            lines.append(_ris_line("IS", ref.number))
        if ref.pages:
            first, _, last = ref.pages.partition("-")
            lines.append(_ris_line("SP", first))
            if last:
                lines.append(_ris_line("EP", last))
    elif ref.server:
        lines.append(_ris_line("PB", ref.server))
    if paper.journal_ref and not ref.is_article:
        lines.append(_ris_line("N1", clean_title(paper.journal_ref)))
    abstract = clean_abstract(paper.abstract, title=title)
    if abstract:
        lines.append(_ris_line("AB", abstract))
    if _doi(paper):
        lines.append(_ris_line("DO", _doi(paper)))
    if paper.arxiv_id:
        lines.append(_ris_line("M1", f"arXiv:{paper.arxiv_id}"))
    for kw in paper.categories:
        lines.append(_ris_line("KW", kw))
    url = _url(paper)
    if url:
        lines.append(_ris_line("UR", url))
    lines.append("ER  - \n")
    return "".join(lines)


def ris(papers: Iterable[Paper]) -> str:
    """One RIS record per paper (TY … ER), blank line between records."""
    return "\n".join(_ris_entry(paper, ref) for paper, ref in _with_references(papers))


# Each export format: how to write it, and its media type.
FORMATS: dict[str, tuple[Callable[[Iterable[Paper]], str], str]] = {
    "bib": (bibtex, "application/x-bibtex"),
    "ris": (ris, "application/x-research-info-systems"),
}


def citations_download(papers: Iterable[Paper], *, fmt: str, name: str) -> HttpResponse:
    """`papers` as a BibTeX ("bib") or RIS ("ris") file download named `name.fmt`."""
    render, media_type = FORMATS[fmt]
    response = HttpResponse(render(papers), content_type=f"{media_type}; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{name}.{fmt}"
    )
    return response
