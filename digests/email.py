"""Briefing emails: rendered from three templates each (subject, plain text, HTML), in the
reader's language and time zone, with absolute links back to the site and a one-click
unsubscribe (RFC 8058) signed for that user and radar.

`make_message(name, to, ctx)` follows healthchecks' `hc/lib/emails.py`: it renders
`digests/email/<name>-subject.txt`, `-body-text.txt` and `-body-html.html`.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from digests.display import BriefingView, CitedPaper, briefing_views
from digests.models import Briefing, Delivery

UNSUBSCRIBE_SALT = "digests.unsubscribe"
# An old email's unsubscribe link keeps working for a good while (RFC 8058 asks for it to
# work as long as mail may still be read; CAN-SPAM for at least 30 days).
UNSUBSCRIBE_MAX_AGE = 400 * 24 * 3600
# What one theme lists in an email; the rest are a click away (keeps the HTML < 100 KB).
EMAIL_PAPERS_PER_THEME = 6


def absolute(path: str) -> str:
    """`path` on this site, as a full URL (SITE_URL)."""
    return str(settings.SITE_URL).rstrip("/") + path


def mail_domain() -> str:
    """The host of SITE_URL, for Message-IDs."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id_new() -> str:
    """A new Message-ID (made and stored before a delivery is ever attempted)."""
    return make_msgid(idstring="briefing", domain=mail_domain())


def unsubscribe_token(*, user_id: int, radar_id: int) -> str:
    """A signed token naming one user's subscription to one radar."""
    return signing.dumps({"u": user_id, "r": radar_id}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, int] | None:
    """(user id, radar id) of a valid, unexpired token, else None."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user_id, radar_id = data.get("u"), data.get("r")
    if not isinstance(user_id, int) or not isinstance(radar_id, int):
        return None
    return user_id, radar_id


def unsubscribe_url(*, user_id: int, radar_id: int) -> str:
    """The absolute one-click unsubscribe URL of a user's subscription to a radar."""
    token = unsubscribe_token(user_id=user_id, radar_id=radar_id)
    return absolute(reverse("digests:unsubscribe", args=[token]))


def make_message(
    name: str, to: list[str], ctx: dict[str, Any], *, headers: dict[str, str] | None = None
) -> EmailMultiAlternatives:
    """An email with a plain-text body and an HTML alternative, from `name`'s templates."""
    subject = re.sub(r"\s+", " ", render_to_string(f"digests/email/{name}-subject.txt", ctx))
    text = render_to_string(f"digests/email/{name}-body-text.txt", ctx)
    html = render_to_string(f"digests/email/{name}-body-html.html", ctx)
    message = EmailMultiAlternatives(
        subject.strip(), text, settings.DEFAULT_FROM_EMAIL, to, headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    return message


@dataclass(slots=True)
class ThemeInMail:
    """A theme as an email lists it: the first papers, and how many more there are."""

    title: str
    synthesis: str
    papers: list[CitedPaper]
    more: int


@dataclass(slots=True)
class Section:
    """One language's briefing in an email, and its rendered HTML and text."""

    view: BriefingView
    url: str
    lang: str
    themes: list[ThemeInMail]
    html: str = ""
    text: str = ""


# Sections rendered for a batch, by (briefing id, reader language): the same for every
# reader of that language, so rendered once; only the frame around them is per reader.
SectionCache = dict[tuple[int, str], tuple[str, str]]


def _section(view: BriefingView, language: str, cache: SectionCache) -> Section:
    """A briefing's section, rendered in the active language (or taken from `cache`)."""
    briefing = view.briefing
    themes = [
        ThemeInMail(
            title=t.title,
            synthesis=t.synthesis,
            papers=t.papers[:EMAIL_PAPERS_PER_THEME],
            more=max(0, len(t.papers) - EMAIL_PAPERS_PER_THEME),
        )
        for t in view.themes
    ]
    section = Section(
        view=view,
        url=absolute(reverse("digests:briefing", args=[briefing.pk])),
        lang="zh-Hans" if briefing.language == Briefing.Language.ZH else "en",
        themes=themes,
    )
    key = (briefing.pk, language)
    if key not in cache:
        ctx = {"section": section, "site_url": settings.SITE_URL.rstrip("/")}
        cache[key] = (
            render_to_string("digests/email/briefing-section-html.html", ctx),
            render_to_string("digests/email/briefing-section-text.txt", ctx),
        )
    section.html, section.text = cache[key]
    return section


def briefing_message(
    delivery: Delivery,
    views: dict[int, BriefingView] | None = None,
    cache: SectionCache | None = None,
) -> EmailMultiAlternatives:
    """The email of a delivery (user, radar and briefings loaded), in the user's language
    and time zone. `views` and `cache` may hold what a batch already built and rendered."""
    user = delivery.user
    profile = getattr(user, "profile", None)
    language = profile.language if profile is not None else settings.LANGUAGE_CODE
    zone_name = profile.timezone if profile is not None else "UTC"
    briefings = delivery.briefings
    if views is None or any(b.pk not in views for b in briefings):
        views = {**(views or {}), **briefing_views(briefings)}
    # The reader's own language first.
    first = Briefing.Language.ZH if language.startswith("zh") else Briefing.Language.EN
    briefings = sorted(briefings, key=lambda b: b.language != first)
    unsubscribe = unsubscribe_url(user_id=user.pk, radar_id=delivery.radar_id)
    ctx = {
        "delivery": delivery,
        "radar": delivery.radar,
        "weekly": delivery.cadence == Briefing.Cadence.WEEK,
        "period_start": delivery.period_start,
        "sections": [],
        "site_url": settings.SITE_URL.rstrip("/"),
        "archive_url": absolute(reverse("digests:briefings")),
        "settings_url": absolute(reverse("accounts:settings")),
        "unsubscribe_url": unsubscribe,
        "is_test": delivery.is_test,
    }
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Message-ID": delivery.message_id or message_id_new(),
        "Auto-Submitted": "auto-generated",
    }
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone_name)):
        ctx["sections"] = [
            _section(views[b.pk], language, cache if cache is not None else {}) for b in briefings
        ]
        return make_message("briefing", [user.email], ctx, headers=headers)
