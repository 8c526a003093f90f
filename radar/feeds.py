"""A radar's Atom feed: its latest matches for feed readers, behind a secret token URL."""

from __future__ import annotations

from typing import Any
from xml.sax.xmlreader import AttributesImpl

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.xmlutils import SimplerXMLGenerator

from accounts.models import Profile
from feeds.labels import display_text
from radar.models import Match, Radar
from radar.reasons import reasons_text
from radar.selectors import radar_matches_for_user

FEED_ENTRIES = 50
# Authors named one <author> each; more than this and the rest are "et al.".
FEED_AUTHORS = 10
# Feed readers may keep a copy this long (matches change when sources are polled, hourly);
# private: the URL is a secret, so shared caches should not hold it.
FEED_MAX_AGE = 15 * 60


class RadarAtom1Feed(Atom1Feed):
    """Atom with one <author> per author of an entry (`authors=[...]` on add_item)."""

    def add_item_elements(self, handler: SimplerXMLGenerator, item: dict[str, Any]) -> None:
        """The standard elements, then each author in its own <author>."""
        super().add_item_elements(handler, item)
        for name in item.get("authors") or []:
            handler.startElement("author", AttributesImpl({}))
            handler.addQuickElement("name", name)
            handler.endElement("author")


def _language(radar: Radar) -> str:
    """The owner's interface language: a feed reader sends no preference of its own."""
    profile = Profile.objects.filter(user_id=radar.owner_id).only("language").first()
    return profile.language if profile else "en"


def _entry_html(match: Match) -> str:
    """Authors, reasons and abstract as escaped text in paragraphs (no feed markup passes)."""
    paper = match.paper
    parts = []
    authors = [display_text(a) for a in paper.authors if display_text(a).strip()]
    if authors:
        parts.append(_("Authors: %(names)s") % {"names": ", ".join(authors)})
    reasons = reasons_text(match.reasons)
    if reasons:
        parts.append(_("Why this paper: %(reasons)s") % {"reasons": "; ".join(reasons)})
    abstract = display_text(paper.abstract).strip()
    if abstract:
        parts.append(abstract)
    return "".join(f"<p>{escape(part)}</p>" for part in parts)


def entry_authors(names: list[str]) -> list[str]:
    """The authors an entry names: the first ten, then "et al." for the rest."""
    authors = [display_text(a) for a in names if display_text(a).strip()]
    if len(authors) > FEED_AUTHORS:
        return [*authors[:FEED_AUTHORS], _("et al.")]
    return authors


def radar_atom(request: HttpRequest, radar: Radar) -> Atom1Feed:
    """The radar's latest matches (newest day first, best first) as an Atom document."""
    radar_url = request.build_absolute_uri(reverse("radar:radar_feed", args=[radar.pk]))
    feed = RadarAtom1Feed(
        title=_("%(name)s · AcademicHub radar") % {"name": display_text(radar.name)},
        link=radar_url,
        description=display_text(radar.description),
        language=translation.get_language(),
        feed_url=request.build_absolute_uri(),
        # The radar's page, not the token URL: the id must outlive a rotated token.
        feed_guid=f"{radar_url}#atom",
    )
    matches = radar_matches_for_user(radar=radar, user=AnonymousUser(), stop=FEED_ENTRIES)
    for match in matches:
        paper = match.paper
        url = request.build_absolute_uri(reverse("feeds:paper", args=[paper.key]))
        feed.add_item(
            title=display_text(paper.title),
            link=url,
            description=_entry_html(match),
            unique_id=f"{url}#radar-{radar.pk}",
            unique_id_is_permalink=False,
            pubdate=match.created_at,
            updateddate=match.created_at,
            authors=entry_authors(paper.authors),
            categories=[display_text(c) for c in paper.categories],
        )
    return feed


def radar_atom_response(request: HttpRequest, radar: Radar) -> HttpResponse:
    """The Atom document as a response, worded in the owner's language."""
    with translation.override(_language(radar)):
        feed = radar_atom(request, radar)
        body = feed.writeString("utf-8")
    response = HttpResponse(body, content_type=f"{feed.content_type}")
    patch_cache_control(response, private=True, max_age=FEED_MAX_AGE)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
