"""Papers as BibTeX and RIS, for the paper page and for exporting saved lists."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from feeds.models import Paper

# Characters BibTeX (or LaTeX under it) treats specially outside math. Backslash, braces,
# `$`, `^` and `_` are left alone in titles and abstracts so their TeX keeps working; elsewhere
# they are escaped too.
_TEXT_SPECIALS = {"&": r"\&", "%": r"\%", "#": r"\#"}
_ALL_SPECIALS = {
    **_TEXT_SPECIALS,
    "\\": r"\textbackslash{}",
    # BibTeX counts every brace, escaped or not, when it looks for a field's end.
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "$": r"\$",
    "_": r"\_",
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

    BibTeX counts every brace, even after a backslash, so escapes are not exempt.
    """
    out: list[str] = []
    depth = 0
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                continue
            depth -= 1
        out.append(char)
    # Surplus opening braces: drop the last ones.
    while depth > 0:
        idx = len(out) - 1 - out[::-1].index("{")
        del out[idx]
        depth -= 1
    # A trailing backslash would escape the closing brace of the field.
    return "".join(out).rstrip("\\")


def _escape_tex_kept(value: str) -> str:
    """Escape `& % #` but keep TeX math and commands (titles, abstracts)."""
    text = _clean(value)
    text = re.sub(r"(?<!\\)([&%#])", lambda m: _TEXT_SPECIALS[m.group(1)], text)
    return _balance(text)


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


def _year(paper: Paper) -> str:
    day = paper.published or paper.announced
    return str(day.year) if day else ""


def _base_key(paper: Paper) -> str:
    surname = _ascii_word(_surname(paper.authors[0])) if paper.authors else ""
    key = f"{surname.lower() or 'anon'}{_year(paper)}{_first_title_word(paper.title)}"
    return key or "paper"


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


def _is_preprint_server(paper: Paper) -> bool:
    abs_link = str((paper.links or {}).get("abs", ""))
    return "biorxiv.org/" in abs_link or "medrxiv.org/" in abs_link


def _is_article(paper: Paper) -> bool:
    """Published in a journal: a journal reference or DOI, or a journal feed's own item."""
    if paper.journal_ref or paper.journal_doi:
        return True
    return not paper.arxiv_id and not _is_preprint_server(paper)


def _bibtex_entry(paper: Paper, key: str) -> str:
    is_article = _is_article(paper)
    fields: list[tuple[str, str]] = [("title", "{" + _escape_tex_kept(paper.title) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(_escape_all(a) for a in paper.authors)))
    if is_article and paper.journal_ref:
        fields.append(("journal", _escape_all(paper.journal_ref)))
    if _year(paper):
        fields.append(("year", _year(paper)))
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
    if paper.abstract:
        fields.append(("abstract", _escape_tex_kept(paper.abstract)))
    kind = "article" if is_article else "misc"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def bibtex(papers: Iterable[Paper]) -> str:
    """One BibTeX entry per paper, keys like `lovelace2024analytical`, deduplicated."""
    entries: list[str] = []
    used: set[str] = set()
    for paper in papers:
        base = _base_key(paper)
        key, n = base, 0
        while key in used:
            n += 1
            key = base + _suffix(n)
        used.add(key)
        entries.append(_bibtex_entry(paper, key))
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


def _ris_entry(paper: Paper) -> str:
    is_article = _is_article(paper)
    lines = [_ris_line("TY", "JOUR" if is_article else "UNPB")]
    lines.append(_ris_line("TI", paper.title))
    lines.extend(_ris_line("AU", author) for author in paper.authors if _clean(author))
    if _year(paper):
        lines.append(_ris_line("PY", _year(paper)))
    day = paper.published or paper.announced
    if day:
        lines.append(_ris_line("DA", day.strftime("%Y/%m/%d")))
    if paper.journal_ref:
        lines.append(_ris_line("JO", paper.journal_ref))
    if paper.abstract:
        lines.append(_ris_line("AB", paper.abstract))
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
    return "\n".join(_ris_entry(paper) for paper in papers)


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
