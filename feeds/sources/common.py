"""Small helpers the source adapters share: feed parsing, text, DOIs, arXiv ids, dates."""

from __future__ import annotations

import codecs
import io
import re
import time
import unicodedata
import xml.parsers.expat
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import feedparser

from academichub.web import UNSTORABLE
from feeds.sources.base import ErrorKind, FeedError

_WHITESPACE = re.compile(r"\s+")
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_DOI_PREFIX = re.compile(r"^(?:doi:\s*|info:doi/|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)
# New-style `2411.17700` (4 digits after the dot before 2015) and old-style
# `astro-ph/0601001` or `math.GT/0309136`, optionally versioned, at the end of a guid or URL.
_ARXIV_ID = re.compile(
    r"(?P<id>\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Za-z-]+)?/\d{7})(?:v(?P<version>\d+))?$",
    re.IGNORECASE,
)


# Byte order marks, longest first: UTF-32 LE's starts with UTF-16 LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][\w.:-]*)["']""")
_DECLARATION_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?\sencoding\s*=\s*)["'][^"']*["']""")
# A DOCTYPE with an internal subset, for documents expat cannot read up to their root.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE\s[^>\[]*\[")


class _PrologRead(Exception):
    """The root element started: everything before it was read."""


def decode_text(body: bytes, encoding: str) -> tuple[str, int]:
    """`body` decoded as `encoding`; each invalid byte sequence becomes U+FFFD where it stood.

    Returns the text and how many sequences were replaced, so one bad byte costs one
    character of one field, never the rest of the document.
    """
    text = body.decode(encoding, errors="replace")
    # U+FFFD the feed itself sent (validly encoded) is not a replacement of ours.
    sent = body.decode(encoding, errors="ignore").count("\ufffd")
    return text, text.count("\ufffd") - sent


def xml_document(body: bytes) -> tuple[bytes, int]:
    """An XML feed as UTF-8 that says so, and how many characters were lost (warnings).

    Decoded as the document declares (byte order mark, else the XML declaration, else
    UTF-8); an invalid byte becomes U+FFFD in its own field, and characters XML forbids
    (NUL and other controls) are dropped. A document with an internal DTD subset
    (entity declarations: billion laughs, XXE) is refused as a bad feed.
    """
    encoding = _declared_encoding(body)
    text, warnings = decode_text(body, encoding)
    # The characters XML 1.0 does not allow are those PostgreSQL cannot store (C0 controls
    # but tab, LF and CR; U+FFFE/F).
    text, dropped = UNSTORABLE.subn("", text)
    text = _DECLARATION_ENCODING.sub(r'\1"utf-8"', text, count=1)
    document = text.encode("utf-8")
    _refuse_internal_dtd(document)
    return document, warnings + dropped


def json_text(body: bytes) -> tuple[str, int]:
    """A JSON document as text (UTF-8 unless a byte order mark says otherwise) and how many
    invalid byte sequences became U+FFFD (warnings)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return decode_text(body, encoding)
    return decode_text(body, "utf-8")


def _declared_encoding(body: bytes) -> str:
    """The codec a document asks for: its byte order mark, its XML declaration, or UTF-8."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return encoding
    match = _DECLARED_ENCODING.match(body)
    if not match:
        return "utf-8"
    name = match.group(1).decode("ascii").lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return "utf-8"
    # A declaration readable as ASCII cannot be in UTF-16 or UTF-32: the label is wrong.
    return "utf-8" if codec.startswith(("utf-16", "utf-32")) else codec


def _refuse_internal_dtd(document: bytes) -> None:
    """FeedError when the prolog declares a DTD subset of its own (entities, attributes)."""
    refused = FeedError(
        ErrorKind.PARSE,
        "refused: the feed declares its own DTD (<!DOCTYPE … [ … ]>, where entity bombs and "
        "external entities live); no feed needs one, so nothing was stored",
    )
    parser = xml.parsers.expat.ParserCreate()

    def doctype(name: str, system_id: str | None, public_id: str | None, internal: int) -> None:
        if internal:
            raise refused

    def root(name: str, attributes: Any) -> None:
        raise _PrologRead

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = root
    try:
        parser.Parse(document, True)
    except _PrologRead:
        return
    except xml.parsers.expat.ExpatError:
        # Broken XML goes to the forgiving parser; a subset it might half-read is refused.
        if _INTERNAL_SUBSET.search(document):
            raise refused from None


def parse_feed(body: bytes) -> Any:
    """Parse RSS/Atom bytes with feedparser; FeedError when the body is not a feed at all."""
    # A stream, never the bytes themselves: feedparser reads a bytes argument that happens to
    # name a local file from disk. No sanitising or URI resolution either: both rewrite text
    # (`$\frac{1}{3}<s<1$` becomes `<s>` tags) and the pipeline sanitises HTML once, later.
    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    # Entries recovered from a broken document are still worth having; no entries and no
    # recognised format means we were not given a feed.
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        if looks_like_html(body):
            raise FeedError(ErrorKind.HTML_NOT_FEED, "the response is an HTML page, not a feed")
        reason = parsed.get("bozo_exception") or "no RSS or Atom document found"
        raise FeedError(ErrorKind.PARSE, f"not a feed: {reason}")
    return parsed


def looks_like_html(body: bytes) -> bool:
    """Whether a body starts like an HTML page (an error or login page, a CDN challenge)."""
    head = body[:2048].lower()
    return b"<html" in head or b"<!doctype html" in head


def collapse_ws(text: str | None) -> str:
    """Collapse every run of whitespace (newlines included) to one space; strip the ends."""
    return _WHITESPACE.sub(" ", text or "").strip()


def normalise_doi(value: str | None) -> str:
    """The lower-cased DOI when `value` is one (bare, `doi:`, or a doi.org URL), else ""."""
    text = _DOI_PREFIX.sub("", (value or "").strip())
    # DOIs are case-insensitive; lower-casing lets journal items and preprints meet.
    return text.lower() if _DOI.fullmatch(text) else ""


def find_doi(text: str | None) -> str:
    """The first DOI anywhere in `text`, lower-cased, or ""."""
    match = _DOI.search(text or "")
    return match.group(0).rstrip(".,;").lower() if match else ""


def arxiv_id_version(text: str) -> tuple[str, int]:
    """Split an arXiv guid, URL or id (`oai:arXiv.org:2411.17700v2`) into id and version."""
    match = _ARXIV_ID.search(text.strip())
    if not match:
        # ValueError, not FeedError: one bad entry is skipped, the rest of the feed is kept.
        raise ValueError(f"no arXiv id in {text!r}")
    return match.group("id"), int(match.group("version") or 1)


def arxiv_links(arxiv_id: str, version: int, journal_doi: str) -> dict[str, str]:
    """The abs (unversioned), pdf and html (versioned) and journal DOI links of an arXiv paper."""
    links = {
        "abs": f"https://arxiv.org/abs/{arxiv_id}",
        "pdf": f"https://arxiv.org/pdf/{arxiv_id}v{version}",
        "html": f"https://arxiv.org/html/{arxiv_id}v{version}",
    }
    if journal_doi:
        links["doi"] = f"https://doi.org/{journal_doi}"
    return links


def struct_date(value: time.struct_time | None, tz: tzinfo = UTC) -> date | None:
    """The calendar date in `tz` of a feedparser time tuple (always UTC); None when missing."""
    if not value:
        return None
    return datetime(*value[:6], tzinfo=UTC).astimezone(tz).date()


def to_int(value: Any) -> int | None:
    """A count or version that may arrive as a string, as an int; None when absent or garbled."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


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
