"""Template helpers for paper cards: which of the papers on a page the user saved; icons; the
save star and the thumbs.

The star and the thumbs are written here rather than in template files because a page of 25 or
50 cards draws them on every card, for every reader: as templates they were half of a card's
rendering (each `{% translate %}` and `{% url %}` costs about a hundred calls). Their files
(`radar/_save_button.html`, `radar/_feedback.html`, what htmx swaps in) call these tags, so
the markup lives in one place."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import quote

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from feeds.models import Paper
from radar.models import Radar
from radar.selectors import saved_paper_ids_for_user, user_has_radars

register = template.Library()


@register.simple_tag(takes_context=True)
def saved_paper_ids(context: template.Context, papers: Iterable[Paper | int]) -> set[int]:
    """Ids of `papers` the request user saved: one query per page, empty for visitors."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not user.is_authenticated:
        return set()
    return saved_paper_ids_for_user(user=user, papers=papers)


@register.simple_tag(takes_context=True)
def has_radars(context: template.Context) -> bool:
    """`{% has_radars as has %}`: whether the request user owns a radar or follows a topic
    (True for visitors, who are not asked to make one)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return True
    return user_has_radars(user=user)


@functools.cache
def _icon_svg(name: str) -> str:
    return render_to_string("_icon.html", {"name": name})


@register.simple_tag
def icon(name: str) -> SafeString:
    """`{% icon "star" %}`: the inline SVG of templates/_icon.html, rendered once per name (a
    page of cards shows three per card)."""
    svg = render_to_string("_icon.html", {"name": name}) if settings.DEBUG else _icon_svg(name)
    return mark_safe(svg)  # noqa: S308 (our own template, no outside text)


def _csrf_input(context: template.Context) -> SafeString:
    """What `{% csrf_token %}` writes (the page's token, worked out once per page)."""
    token = context.get("csrf_token")
    if not token or str(token) == "NOTPROVIDED":
        return mark_safe("")  # noqa: S308
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


def _here(context: template.Context, given: str) -> str:
    """Where a control's form returns after a plain (non-htmx) post."""
    if given:
        return given
    request = context.get("request")
    return request.get_full_path() if request is not None else ""


@functools.lru_cache(maxsize=8)
def _labels(language: str | None) -> dict[str, str]:
    """The controls' words in `language`, looked up once per language and process."""
    return {
        "save": pgettext("keep a paper (the star)", "Save"),
        "unsave": _("Remove from saved"),
        "login": _("Log in to save"),
        "up": _("More like this"),
        "up_on": _("More like this (on)"),
        "up_undo": _("You liked this: press again to undo"),
        "down": _("Less like this"),
        "down_on": _("Less like this (on)"),
        "down_undo": _("You disliked this: press again to undo"),
        "hidden": _("Hidden from this radar"),
    }


@register.simple_tag(takes_context=True)
def save_button(
    context: template.Context, paper: Paper, is_saved: bool, next_url: str = ""
) -> SafeString:
    """`{% save_button paper is_saved %}`: the star that saves a paper or removes it (a visitor
    gets a link to log in). `next_url` (or the context's `save_next`) is where a plain post
    returns, else this page."""
    words = _labels(get_language())
    user = context.get("user")
    here = _here(context, next_url or context.get("save_next") or "")
    if user is None or not user.is_authenticated:
        return format_html(
            '<a class="save-button" href="{}?next={}" aria-label="{}" title="{}">{}</a>',
            reverse("account_login"),
            quote(here),
            words["login"],
            words["login"],
            icon("star"),
        )
    url = reverse("radar:save_toggle", args=[paper.pk])
    label = words["unsave"] if is_saved else words["save"]
    return format_html(
        '<form method="post" action="{}" class="inline-form save-form" hx-post="{}"'
        ' hx-target="this" hx-swap="outerHTML">{}\n'
        '  <input type="hidden" name="saved" value="{}">\n'
        '  <input type="hidden" name="next" value="{}">\n'
        '  <button type="submit" class="save-button" aria-pressed="{}" aria-label="{}"'
        ' title="{}">{}</button>\n</form>',
        url,
        url,
        _csrf_input(context),
        "0" if is_saved else "1",
        here,
        "true" if is_saved else "false",
        label,
        label,
        icon("star"),
    )


@register.simple_tag(takes_context=True)
def feedback_buttons(
    context: template.Context,
    radar: Radar,
    paper: Paper,
    feedback: int | None,
    hidden: bool = False,
) -> SafeString:
    """`{% feedback_buttons radar paper feedback %}`: more / less like this (👍 1, 👎 -1, or
    None) on a paper of a radar; pressing the active one clears it. A plain post returns to
    the context's `feedback_next`, else this page. `hidden`: the answer to a 👎, which took
    the paper out of the radar: says so, the pressed 👎 undoes it."""
    words = _labels(get_language())
    url = reverse("radar:feedback", args=[radar.pk, paper.pk])

    def button(value: int, kind: str, name: str) -> SafeString:
        on = feedback == value
        return format_html(
            '<button type="submit" name="value" value="{}" class="feedback-button'
            ' feedback-button--{}" aria-pressed="{}" title="{}" aria-label="{}">{}</button>',
            0 if on else value,
            kind,
            "true" if on else "false",
            words[f"{kind}_undo"] if on else words[kind],
            words[f"{kind}_on"] if on else words[kind],
            icon(name),
        )

    status = (
        format_html('\n  <span class="feedback-hidden" role="status">{}</span>', words["hidden"])
        if hidden
        else ""
    )
    return format_html(
        '<form method="post" action="{}" class="inline-form feedback-form{}" hx-post="{}"'
        ' hx-target="this" hx-swap="outerHTML" hx-disabled-elt="find button">{}\n'
        '  <input type="hidden" name="next" value="{}">{}\n  {}\n  {}\n</form>',
        url,
        " feedback-form--hidden" if hidden else "",
        url,
        _csrf_input(context),
        _here(context, context.get("feedback_next") or ""),
        status,
        button(1, "up", "thumb-up"),
        button(-1, "down", "thumb-down"),
    )
