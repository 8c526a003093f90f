"""A radar's Atom feed: its latest matches for feed readers, behind a secret token URL."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext as _

from accounts.models import Profile
from feeds.labels import display_text
from radar.models import Match, Radar
from radar.reasons import reasons_text
from radar.selectors import radar_matches_for_user

FEED_ENTRIES = 50


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


def radar_atom(request: HttpRequest, radar: Radar) -> Atom1Feed:
    """The radar's latest matches (newest day first, best first) as an Atom document."""
    self_url = request.build_absolute_uri()
    feed = Atom1Feed(
        title=_("%(name)s · AcademicHub radar") % {"name": display_text(radar.name)},
        link=request.build_absolute_uri(reverse("radar:radar_feed", args=[radar.pk])),
        description=display_text(radar.description),
        language=translation.get_language(),
        feed_url=self_url,
        feed_guid=self_url,
    )
    matches = radar_matches_for_user(radar=radar, user=AnonymousUser(), stop=FEED_ENTRIES)
    for match in matches:
        paper = match.paper
        url = request.build_absolute_uri(reverse("feeds:paper", args=[paper.key]))
        authors = [display_text(a) for a in paper.authors if display_text(a).strip()]
        feed.add_item(
            title=display_text(paper.title),
            link=url,
            description=_entry_html(match),
            unique_id=f"{url}#radar-{radar.pk}",
            unique_id_is_permalink=False,
            pubdate=match.created_at,
            updateddate=match.created_at,
            author_name=", ".join(authors[:3]) + (" " + _("et al.") if len(authors) > 3 else ""),
            categories=[display_text(c) for c in paper.categories],
        )
    return feed


def radar_atom_response(request: HttpRequest, radar: Radar) -> HttpResponse:
    """The Atom document as a response, worded in the owner's language."""
    with translation.override(_language(radar)):
        feed = radar_atom(request, radar)
        body = feed.writeString("utf-8")
    response = HttpResponse(body, content_type=f"{feed.content_type}")
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
