"""Briefing emails: one per reader and period (`digests.edition`), rendered from three
templates (subject, plain text, HTML) in the reader's summary language and time zone, with
absolute links on SITE_URL ("view in browser" included) and a one-click unsubscribe
(RFC 8058) signed for that reader: it stops their briefing email; the page it opens also
offers to stop single radars only.

`make_message(name, to, ctx)` follows healthchecks' `hc/lib/emails.py`: it renders
`digests/email/<name>-subject.txt`, `-body-text.txt` and `-body-html.html`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.safestring import SafeString, mark_safe

from digests.display import BriefingView, briefing_views
from digests.edition import PAPERS_PER_THEME, Edition, RadarInfo, edition_build
from digests.models import Briefing, Card, Delivery
from digests.schedule import zone_named
from digests.selectors import cards_for_papers
from feeds.names import topic_name

UNSUBSCRIBE_SALT = "digests.unsubscribe"
# An old email's unsubscribe link keeps working for a good while (RFC 8058 asks for it to
# work as long as mail may still be read; CAN-SPAM for at least 30 days).
UNSUBSCRIBE_MAX_AGE = 400 * 24 * 3600
# The HTML part stays under this (Gmail clips messages over about 102 KB): fewer papers per
# theme are listed in full until it fits; the rest are a click away.
EMAIL_HTML_LIMIT = 95_000


def absolute(path: str) -> str:
    """`path` on this site, as a full URL (SITE_URL)."""
    return str(settings.SITE_URL).rstrip("/") + path


def mail_domain() -> str:
    """The host of SITE_URL, for Message-IDs."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id_new() -> str:
    """A new Message-ID (made and stored before a delivery is ever attempted)."""
    return make_msgid(idstring="briefing", domain=mail_domain())


def unsubscribe_token(*, user_id: int, radar_id: int | None = None) -> str:
    """A signed token naming one reader's briefing email (or, in emails sent before one
    email covered every radar, one radar's)."""
    data: dict[str, int] = {"u": user_id}
    if radar_id is not None:
        data["r"] = radar_id
    return signing.dumps(data, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, int | None] | None:
    """(user id, radar id or None) of a valid, unexpired token, else None."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user_id, radar_id = data.get("u"), data.get("r")
    if not isinstance(user_id, int) or not (radar_id is None or isinstance(radar_id, int)):
        return None
    return user_id, radar_id


def unsubscribe_url(*, user_id: int) -> str:
    """The absolute one-click unsubscribe URL of a reader's briefing email."""
    return absolute(reverse("digests:unsubscribe", args=[unsubscribe_token(user_id=user_id)]))


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


def interface_language(delivery: Delivery) -> str:
    """The Django language an email is written in: its summary language, or for "both" the
    reader's interface language (loaded profile)."""
    if delivery.language == Delivery.Language.ZH:
        return "zh-hans"
    if delivery.language == Delivery.Language.EN:
        return "en"
    profile = getattr(delivery.user, "profile", None)
    return profile.language if profile is not None else str(settings.LANGUAGE_CODE)


@dataclass(slots=True)
class Rendered:
    """An edition and its content (HTML and text), the same for every reader of it."""

    edition: Edition
    html: SafeString
    text: str
    # The radars it shows, as `Delivery.radars` keeps them once it is sent.
    radars: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class MailCache:
    """What a batch of emails shares: briefings, their views per interface language, cards,
    and each distinct edition rendered once (readers of the same radars share it)."""

    briefings: dict[int, Briefing] = field(default_factory=dict)
    views: dict[tuple[int, str], BriefingView] = field(default_factory=dict)
    cards: dict[int, Card] = field(default_factory=dict)
    rendered: dict[tuple[Any, ...], Rendered] = field(default_factory=dict)

    def load(self, deliveries: Sequence[Delivery]) -> None:
        """Load the briefings (with their radars) and cards these deliveries need."""
        wanted = {b for d in deliveries for b in d.briefing_ids} - set(self.briefings)
        if wanted:
            found = (
                Briefing.objects.filter(id__in=wanted)
                .select_related("radar")
                .defer("radar__profile")
            )
            self.briefings.update({b.pk: b for b in found})
            papers = {pid for b in found if b.readable for pid in b.paper_ids}
            self.cards.update(cards_for_papers(papers - set(self.cards)))

    def views_for(self, briefings: Sequence[Briefing], ui: str) -> dict[int, BriefingView]:
        """Views of `briefings` whose labels are in the interface language `ui` (made for
        every loaded briefing at once: the batch's other emails will want them too)."""
        candidates = {**self.briefings, **{b.pk: b for b in briefings}}
        missing = [b for b in candidates.values() if (b.pk, ui) not in self.views and b.readable]
        if missing:
            with translation.override(ui):
                for pk, view in briefing_views(missing).items():
                    self.views[(pk, ui)] = view
        return {b.pk: self.views[(b.pk, ui)] for b in briefings if (b.pk, ui) in self.views}


@dataclass(frozen=True, slots=True)
class RadarEntry:
    """A radar of an email as `Delivery.radars` keeps it: the name its owner wrote, whether
    it is public (a starter topic's name is shown in the reader's language), whether the
    reader owns it, and its briefings in the email."""

    radar_id: int | None
    name: str
    public: bool
    owned: bool
    briefing_ids: tuple[int, ...]

    def stored(self) -> dict[str, Any]:
        """The entry as `Delivery.radars` stores it."""
        return {
            "id": self.radar_id,
            "name": self.name,
            "public": self.public,
            "owned": self.owned,
            "briefings": list(self.briefing_ids),
        }

    @classmethod
    def read(cls, data: Any) -> RadarEntry | None:
        """A stored entry, or None if it is not one."""
        if not isinstance(data, dict):
            return None
        radar_id, ids = data.get("id"), data.get("briefings")
        if not (radar_id is None or isinstance(radar_id, int)) or not isinstance(ids, list):
            return None
        return cls(
            radar_id=radar_id,
            name=str(data.get("name") or ""),
            public=data.get("public") is True,
            owned=data.get("owned") is True,
            briefing_ids=tuple(i for i in ids if isinstance(i, int)),
        )


def radars_of(delivery: Delivery, briefings: Mapping[int, Briefing]) -> list[RadarEntry]:
    """The radars of a delivery's email, each with its briefings among the delivery's (in
    `briefings`, radars loaded): as they were mailed (`Delivery.radars`) once it was sent,
    so a radar renamed or deleted since reads as it did; else as the radars are now, a
    briefing of a radar deleted since under the name it had when it was made."""
    wanted = [b for b in delivery.briefing_ids if b in briefings]
    entries: list[RadarEntry] = []
    placed: set[int] = set()
    for data in delivery.radars if isinstance(delivery.radars, list) else []:
        entry = RadarEntry.read(data)
        ids = tuple(b for b in entry.briefing_ids if b in wanted) if entry else ()
        if entry is not None and ids and not placed & set(ids):
            entries.append(replace(entry, briefing_ids=ids))
            placed.update(ids)
    live: dict[tuple[int | None, str], list[int]] = {}
    for b in wanted:
        if b not in placed:
            briefing = briefings[b]
            key = (briefing.radar_id, "" if briefing.radar_id else briefing.radar_name)
            live.setdefault(key, []).append(b)
    for (radar_id, name), group in live.items():
        radar = briefings[group[0]].radar
        if radar is None:  # deleted: as it was when the briefing was made
            entries.append(RadarEntry(None, name, False, False, tuple(group)))
        else:
            owned = radar.owner_id == delivery.user_id
            entries.append(RadarEntry(radar_id, radar.name, radar.public, owned, tuple(group)))
    return entries


def radar_shown(entry: RadarEntry) -> str:
    """An email's radar's name in the current language (a starter topic's translated, as
    `Radar.display_name` does)."""
    return topic_name(entry.name) if entry.public else entry.name


def _radars(entries: Sequence[RadarEntry], briefings: Mapping[int, Briefing]) -> list[RadarInfo]:
    """The radars of the email, named in the current language: the reader's own first, then
    the topics they follow."""
    infos = [
        RadarInfo(
            radar_id=e.radar_id,
            name=radar_shown(e),
            owned=e.owned,
            briefing_ids=e.briefing_ids,
            gone=all(briefings[b].radar_id is None for b in e.briefing_ids),
        )
        for e in entries
    ]
    return sorted(infos, key=lambda r: (not r.owned, r.name.casefold(), r.radar_id or 0))


def edition_render(delivery: Delivery, cache: MailCache | None = None) -> Rendered:
    """The edition of a delivery (user and profile loaded) and its content rendered in the
    delivery's language (readers of the same radars and language share it in `cache`)."""
    cache = cache or MailCache()
    cache.load([delivery])
    briefings = [cache.briefings[b] for b in delivery.briefing_ids if b in cache.briefings]
    ui = interface_language(delivery)
    entries = radars_of(delivery, cache.briefings)
    with translation.override(ui):
        radars = _radars(entries, cache.briefings)
    key = (
        tuple(entries), tuple(b.pk for b in briefings), delivery.language, ui, delivery.is_test,
    )  # fmt: skip
    if key in cache.rendered:
        return cache.rendered[key]
    views = cache.views_for(briefings, ui)
    per_theme = PAPERS_PER_THEME
    with translation.override(ui):
        while True:
            edition = edition_build(
                language=delivery.language, cadence=delivery.cadence,
                period_start=delivery.period_start, is_test=delivery.is_test, radars=radars,
                briefings=briefings, views=views, cards=cache.cards, per_theme=per_theme,
                interface=ui,
            )  # fmt: skip
            ctx = {"edition": edition, "site_url": settings.SITE_URL.rstrip("/")}
            html = render_to_string("digests/email/_content.html", ctx)
            # The frame adds about 5 KB; fewer papers per theme until it fits.
            if len(html.encode()) < EMAIL_HTML_LIMIT - 5_000 or per_theme == 0:
                break
            per_theme = per_theme // 2
        text = render_to_string("digests/email/_content.txt", ctx)
    rendered = Rendered(
        edition=edition,
        html=mark_safe(html),  # noqa: S308 - our template's output
        text=text,
        radars=[e.stored() for e in entries],
    )
    cache.rendered[key] = rendered
    return rendered


def briefing_message(delivery: Delivery, cache: MailCache | None = None) -> EmailMultiAlternatives:
    """The email of a delivery (user and profile loaded) in its language and the reader's
    time zone; `cache` may hold what a batch already loaded and rendered."""
    user = delivery.user
    profile = getattr(user, "profile", None)
    zone_name = profile.timezone if profile is not None else "UTC"
    rendered = edition_render(delivery, cache)
    unsubscribe = unsubscribe_url(user_id=user.pk)
    ctx = {
        "edition": rendered.edition,
        "content_html": rendered.html,
        "content_text": rendered.text,
        "site_url": settings.SITE_URL.rstrip("/"),
        "view_url": absolute(reverse("digests:email", args=[delivery.pk])),
        "archive_url": absolute(reverse("digests:emails")),
        "settings_url": absolute(reverse("accounts:settings")),
        "unsubscribe_url": unsubscribe,
        "email": user.email,
    }
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Message-ID": delivery.message_id or message_id_new(),
        "Auto-Submitted": "auto-generated",
    }
    with (
        translation.override(interface_language(delivery)),
        timezone.override(zone_named(zone_name)),
    ):
        ctx["day"] = formats.date_format(delivery.period_start, "MONTH_DAY_FORMAT")
        return make_message("briefing", [user.email], ctx, headers=headers)
