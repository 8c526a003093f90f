"""What a citation says about a paper, read from the paper itself: whether it is a journal
article or a preprint, its journal, volume and pages, and its dates.

The year cited is the paper's own: an arXiv id's year and month (`2411.01234` → November 2024,
`hep-th/9901001` → January 1999), a bioRxiv/medRxiv DOI's posting date, the journal's date
for a journal article; the day it was announced only when nothing better is known, and
never the day AcademicHub stored it. BibTeX, RIS and the paper page's Highwire tags all
read it from here, so they agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from feeds.models import ARXIV_KINDS, Paper, Source
from feeds.pipeline.sanitise import clean_text
from feeds.pipeline.text import clean_title


@dataclass(frozen=True)
class PartialDate:
    """A date known to the year, the month or the day."""

    year: int
    month: int | None = None
    day: int | None = None

    @classmethod
    def of(cls, day: date) -> PartialDate:
        """A full date."""
        return cls(day.year, day.month, day.day)

    def slashed(self) -> str:
        """`2024/11/26`, `2024/11` or `2024`: Highwire's and RIS's form."""
        parts = [f"{self.year:04d}"]
        if self.month:
            parts.append(f"{self.month:02d}")
            if self.day:
                parts.append(f"{self.day:02d}")
        return "/".join(parts)

    def as_date(self) -> date:
        """The first day it may be (for showing it with Django's date formats)."""
        return date(self.year, self.month or 1, self.day or 1)


# New-style ids `YYMM.NNNNN` (from April 2007), old-style `archive(.SUB)/YYMMNNN` (1991–2007).
_NEW_ID = re.compile(r"(?P<yy>\d{2})(?P<mm>\d{2})\.\d{4,5}")
_OLD_ID = re.compile(r"[a-z-]+(?:\.[A-Za-z-]+)?/(?P<yy>\d{2})(?P<mm>\d{2})\d{3}")
# bioRxiv and medRxiv DOIs since December 2019 carry the posting day: `10.1101/2024.11.20.624000`.
_DATED_DOI = re.compile(r"10\.\d{4,9}/(?P<y>20\d{2})\.(?P<m>\d{2})\.(?P<d>\d{2})\.\d+")


def arxiv_id_date(arxiv_id: str) -> PartialDate | None:
    """The year and month an arXiv identifier was given, or None if it is not one."""
    match = _NEW_ID.fullmatch(arxiv_id) or _OLD_ID.fullmatch(arxiv_id)
    if not match:
        return None
    yy, month = int(match["yy"]), int(match["mm"])
    if not 1 <= month <= 12:
        return None
    # Old-style ids began in 1991; new-style ones in 2007, so "07" is 2007 either way.
    year = 1900 + yy if match.re is _OLD_ID and yy >= 91 else 2000 + yy
    return PartialDate(year, month)


def doi_posted_date(doi: str) -> PartialDate | None:
    """The posting day a bioRxiv/medRxiv DOI carries, or None."""
    match = _DATED_DOI.fullmatch(doi)
    if not match:
        return None
    try:
        return PartialDate.of(date(int(match["y"]), int(match["m"]), int(match["d"])))
    except ValueError:
        return None


@dataclass(frozen=True)
class JournalRef:
    """The parts of a free-text journal reference ("Phys. Rev. Lett. 132, 123401 (2024)")."""

    journal: str
    volume: str = ""
    number: str = ""
    pages: str = ""
    year: int | None = None


_NAME = r"(?P<journal>[A-Za-z][A-Za-z&'.\-/ ]*?[A-Za-z.](?:\s\([A-Z][a-z]+\))?)"
_SEP = r"[\s,:;]*"
_VOLUME = r"(?:vol(?:ume)?\.?\s*)?(?P<volume>\d{1,5})"
_NUMBER = r"(?:\s?\((?P<number>\d{1,5})\)|,?\s*(?:no|issue)\.?\s*(?P<issue>\d{1,5}))"
_PAGES = r"(?P<pages>[A-Z]?\d+(?:-[A-Z]?\d+)?(?:\s?\([A-Z]\))?)"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
# The shapes journal references take on arXiv (97 of the recorded feed's, most of them
# physics), tried in order; anything else is not taken apart.
_SHAPES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        # Phys. Rev. Lett. 132, 123401 (2024) · The Astrophysical Journal, 976(2), 225 (2024)
        rf"{_NAME}{_SEP}{_VOLUME}{_NUMBER}?{_SEP}{_PAGES}{_SEP}\({_YEAR}\)",
        # Phys. Lett. B 859 (2024) 139083 · JCAP11(2024)045 · Phys.Rev.D 110 (2024) 10, L101502
        rf"{_NAME}{_SEP}{_VOLUME}{_NUMBER}?{_SEP}\({_YEAR}\)"
        rf"(?:{_SEP}(?:(?:no\.?\s*)?(?P<after>\d{{1,3}}),\s*)?{_PAGES})?",
        # Eur. Phys. J. C (2024) 84:1224 · J. Stat. Mech. (2024) 113103
        rf"{_NAME}{_SEP}\({_YEAR}\){_SEP}(?:{_VOLUME}:)?{_PAGES}",
        # Phys.Lett.B573:94-100,2003 · Studia Mathematica, 271:225-236, 2023
        rf"{_NAME}{_SEP}{_VOLUME}{_NUMBER}?:\s*{_PAGES},\s*{_YEAR}",
        # Journal of Space Safety Engineering, Volume 11, Issue 3, September 2024, Pages 498-506
        rf"{_NAME},\s*Volume\s+(?P<volume>\d+),(?:\s*(?:Issue|Number)\s+(?P<number>\d+),)?"
        rf"(?:\s*[A-Z][a-z]+\.?)?\s*{_YEAR},\s*Pages?\s+{_PAGES}",
        # Universe 2024, 10(10), 384 · Cancers. 2024; 16(14):2538
        rf"{_NAME}\.?\s+{_YEAR}[,;]\s*{_VOLUME}{_NUMBER}?[,:]\s*{_PAGES}",
        # Sensors, 24(23) 2024
        rf"{_NAME}{_SEP}{_VOLUME}{_NUMBER}?[,\s]+{_YEAR}",
        # Physical Review D (2024) · Theoretical Population Biology 2024
        rf"{_NAME}\s*\(?{_YEAR}\)?",
    )
]
# Conference talks and chapters are not journal articles, and nor is a paper's state
# ("Accepted at NeurIPS 2024", "Camera-ready version for ACL 2024", "Submitted to …"): such
# a reference names no journal, rather than a wrong one.
_NOT_A_JOURNAL = re.compile(
    r"^in\b|\b(?:conference|symposium|workshop|meeting|track|proceedings of|colloquium"
    r"|accepted|to appear|camera[- ]ready|submitted|under review|in submission|preprint"
    r"|findings of|main track|oral presentation|poster|spotlight)\b",
    re.IGNORECASE,
)
# "Published in Physical Review D 110 (2024)": the journal is what follows.
_PUBLISHED_IN = re.compile(r"^(?:published|appeared|appears)\s+in\s+(?:the\s+)?", re.IGNORECASE)
# Conferences known by their acronyms alone ("ICLR 2025"), as written: case matters, so the
# words "chi" or "acl" in a journal's name do not count.
_CONFERENCE = re.compile(
    r"\b(?:NeurIPS|NIPS|ICML|ICLR|COLT|AISTATS|UAI|CVPR|ICCV|ECCV|WACV|BMVC|ACCV|3DV|MICCAI"
    r"|ACL|EMNLP|NAACL|EACL|AACL|COLING|LREC|CoNLL|INTERSPEECH|Interspeech|ICASSP|AAAI|IJCAI"
    r"|ECAI|KDD|SIGKDD|SIGIR|WWW|WSDM|CIKM|RecSys|ICDM|SDM|ECML|PKDD|SIGMOD|ICDE|ICRA|IROS"
    r"|CoRL|HRI|SIGGRAPH|CHI|UIST|CSCW|ICSE|FSE|ASE|ISSTA|PLDI|POPL|OOPSLA|SOSP|OSDI|NSDI"
    r"|SIGCOMM|INFOCOM|MobiCom|STOC|FOCS|SODA|ICALP|LICS|CAV|TACAS|DAC|ISCA|MICRO|HPCA"
    r"|ASPLOS|CCS|USENIX|NDSS|ACM MM)(?:['\u2019]?\d{2}|\b)"
)


def not_a_journal(text: str) -> bool:
    """Whether a reference speaks of a conference, a workshop, a chapter or a paper's state
    (accepted, to appear, submitted) rather than of a journal article."""
    return bool(_NOT_A_JOURNAL.search(text) or _CONFERENCE.search(text))


def parse_journal_ref(text: str) -> JournalRef | None:
    """The journal, volume, number, pages and year of a journal reference, or None when it
    does not read as a journal article."""
    value = clean_title(text).replace("\u2013", "-").replace("\u2014", "-").rstrip(" .")
    value = _PUBLISHED_IN.sub("", value)
    for shape in _SHAPES:
        match = shape.fullmatch(value)
        if match is None:
            continue
        parts = match.groupdict()
        journal = parts["journal"].strip(" ,")
        if not_a_journal(value) or sum(c.isalpha() for c in journal) < 2:
            return None
        return JournalRef(
            journal=journal,
            volume=parts.get("volume") or "",
            number=parts.get("number") or parts.get("issue") or parts.get("after") or "",
            pages=re.sub(r"\s+", "", parts.get("pages") or ""),
            year=int(parts["year"]) if parts.get("year") else None,
        )
    return None


@dataclass(frozen=True)
class Reference:
    """How to cite a paper: as a journal article (`journal` set) or as a preprint (`server`)."""

    journal: str
    server: str
    volume: str
    number: str
    pages: str
    # The date a citation gives: the journal's for an article, else the preprint's own.
    cited: PartialDate
    # The first version's posting (preprints) and the journal's publication, when known.
    submitted: PartialDate | None
    published: PartialDate | None

    @property
    def is_article(self) -> bool:
        """Published in a journal we can name."""
        return bool(self.journal)


_SERVER_KINDS = {Source.Kind.BIORXIV_API, Source.Kind.MEDRXIV_API}


def _kinds(paper: Paper) -> list[tuple[str, str]]:
    """(kind, label) of the sources that carried the paper, first seen first; none while it
    is unsaved. Uses the prefetched sightings when there are any."""
    if paper.pk is None:
        return []
    sightings = sorted(paper.sightings.all(), key=lambda s: (s.first_seen, s.pk))
    return [(s.source.kind, s.source.label) for s in sightings]


def _server(paper: Paper, kinds: list[tuple[str, str]]) -> str:
    """ "arXiv", "bioRxiv" or "medRxiv" for a preprint, "" for a journal's own item."""
    abs_link = str((paper.links or {}).get("abs", ""))
    if paper.arxiv_id or any(kind in ARXIV_KINDS for kind, _ in kinds):
        return "arXiv"
    if "medrxiv.org/" in abs_link:
        return "medRxiv"
    if "biorxiv.org/" in abs_link or any(kind in _SERVER_KINDS for kind, _ in kinds):
        return "bioRxiv"
    return ""


def _preprint_submitted(paper: Paper, server: str) -> PartialDate | None:
    """When the first version was posted: the arXiv id's month (with the day, when the
    stored first-version date falls in it), or the server's DOI date or first posting."""
    if server == "arXiv":
        from_id = arxiv_id_date(paper.arxiv_id)
        if from_id is None:
            return PartialDate.of(paper.published) if paper.published else None
        first = paper.published
        if first and (first.year, first.month) == (from_id.year, from_id.month):
            return PartialDate.of(first)
        return from_id
    if paper.published:
        return PartialDate.of(paper.published)
    return doi_posted_date(paper.doi)


def paper_reference(paper: Paper) -> Reference:
    """How `paper` is cited (sightings prefetched with their sources, or one query)."""
    kinds = _kinds(paper)
    server = _server(paper, kinds)
    announced = PartialDate.of(paper.announced)
    if not server:
        # A journal feed's own item: the journal is the feed's source.
        journal = next((clean_text(label, 200) for kind, label in kinds if kind == "rss"), "")
        published = PartialDate.of(paper.published) if paper.published else None
        return Reference(
            journal=journal, server="", volume="", number="", pages="",
            cited=published or announced, submitted=None, published=published,
        )  # fmt: skip
    submitted = _preprint_submitted(paper, server)
    ref = parse_journal_ref(paper.journal_ref) if paper.journal_ref else None
    journal_date = PartialDate(ref.year) if ref and ref.year else None
    return Reference(
        journal=ref.journal if ref else "",
        server=server,
        volume=ref.volume if ref else "",
        number=ref.number if ref else "",
        pages=ref.pages if ref else "",
        cited=journal_date or submitted or announced,
        submitted=submitted,
        published=journal_date,
    )
