"""Writes on radars, subscriptions, feedback, seen marks and saved papers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from academichub.enqueue import enqueue_on_commit
from academichub.web import UNSTORABLE
from accounts.models import Profile
from feeds.models import Paper
from feeds.selectors import papers_by_name
from radar.models import Feedback, Match, Radar, SavedPaper, SeenPaper, Subscription
from radar.query import QueryError, parse
from radar.signals import radar_described
from radar.tasks import radar_profile_refresh, radar_rescore
from radar.understanding import (
    KEYWORD_CAP,
    KEYWORDS_MAX,
    TEXT_CAP,
    description_digest,
    is_latin,
    llm_writes_profiles,
    plain_text,
    understood_by_you,
    understood_parse,
)

# What a radar definition may set (the API and the form both go through `radar_clean`).
RADAR_FIELDS = (
    "name",
    "description",
    "include",
    "exclude",
    "categories",
    "sources",
    "authors",
    "examples",
    "threshold",
    "public",
)
# Besides RADAR_FIELDS: the English profile its owner wrote, {"text": …, "keywords": […]}
# (or {} / None to hand it back to the LLM); not part of the definition an API client reads.
UNDERSTOOD = "understood"
MAX_LIST_ITEMS = 50
MAX_ITEM_CHARS = 200
# Categories and source slugs are stored in 80-character columns.
ITEM_CHARS = {"categories": 80, "sources": 80}
# The lowest score a radar shows, in points (`radar.scoring`).
THRESHOLD_RANGE = (5.0, 95.0)


def saved_paper_toggle(*, user: AbstractBaseUser, paper: Paper, saved: bool | None = None) -> bool:
    """Save or unsave `paper` for `user` (flip when `saved` is None); returns the new state."""
    with transaction.atomic():
        rows = SavedPaper.objects.filter(user_id=user.pk, paper_id=paper.pk)
        if saved is None:
            saved = not rows.exists()
        if saved:
            # The unique constraint makes a double click or a replayed POST harmless.
            SavedPaper.objects.get_or_create(user_id=user.pk, paper_id=paper.pk)
        else:
            rows.delete()
    return saved


# --- radars ---------------------------------------------------------------------------------


def include_validate(text: str) -> None:
    """Raise ValidationError with the parser's plain-words message if `text` does not parse."""
    if not text.strip():
        return
    try:
        parse(text)
    except QueryError as exc:
        error = _(exc.message) % exc.params
        raise ValidationError(_("Include query: %(error)s") % {"error": error}) from exc


def list_items(text: str) -> list[str]:
    """The entries of a list field written as text (exclude, authors, examples): one per line
    or separated by semicolons, blanks dropped."""
    return [item.strip() for item in re.split(r"[\r\n;]+", text or "") if item.strip()]


def _clean_list(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = list_items(value)
    if not isinstance(value, list | tuple):
        raise ValidationError({field: _("Expected a list of strings.")})
    items = [str(item).strip() for item in value if str(item).strip()]
    if len(items) > MAX_LIST_ITEMS:
        raise ValidationError({field: _("At most %(n)d entries.") % {"n": MAX_LIST_ITEMS}})
    limit = ITEM_CHARS.get(field, MAX_ITEM_CHARS)
    if any(len(item) > limit for item in items):
        raise ValidationError({field: _("Each entry is at most %(n)d characters.") % {"n": limit}})
    return list(dict.fromkeys(items))  # drop repeats, keep order


def _holds_unstorable(value: Any) -> bool:
    """Whether a string in `value` (a string, or a list or dict of them) has a character no
    stored text may hold (the API's schemas refuse them too)."""
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, list | tuple):
        return any(_holds_unstorable(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_unstorable(item) for item in value.values())
    return False


def radar_clean(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The radar fields in `data`, validated and normalised; raises ValidationError by field."""
    unknown = set(data) - {*RADAR_FIELDS, UNDERSTOOD}
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(names)s") % {"names": ", ".join(sorted(unknown))}
        )
    unstorable = [field for field, value in data.items() if _holds_unstorable(value)]
    if unstorable:
        # Refused before any other rule reads them: their other messages would be about a
        # character the reader cannot see.
        raise ValidationError(
            {
                field: _("This contains a control character that cannot be saved; remove it.")
                for field in unstorable
            }
        )
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name:
            fail("name", _("A radar needs a name."))
        elif len(name) > 120:
            fail("name", _("A name is at most 120 characters."))
        out["name"] = name
    for field, limit in (("description", 2000), ("include", 1000)):
        if field in data:
            text = str(data[field] or "").strip()
            if len(text) > limit:
                fail(field, _("At most %(n)d characters.") % {"n": limit})
            out[field] = text
    if "include" in out:
        try:
            include_validate(out["include"])
        except ValidationError as exc:
            fail("include", exc.messages[0])
    for field in ("exclude", "categories", "sources", "authors", "examples"):
        if field in data:
            try:
                out[field] = _clean_list(data[field] or [], field)
            except ValidationError as exc:
                fail(field, exc.messages[0])
    if "examples" in out:
        # Paper keys are arXiv ids without version or lower-cased DOIs.
        out["examples"] = examples_as_keys([example_key(item) for item in out["examples"]])
    if "threshold" in data:
        try:
            threshold = float(data["threshold"])
        except (TypeError, ValueError):
            fail("threshold", _("The minimum score is a number."))
        else:
            low, high = THRESHOLD_RANGE
            if not low <= threshold <= high:
                fail(
                    "threshold",
                    _("The minimum score is between %(low)s and %(high)s.")
                    % {"low": f"{low:g}", "high": f"{high:g}"},
                )
            out["threshold"] = threshold
    if "public" in data:
        out["public"] = bool(data["public"])
    if UNDERSTOOD in data:
        try:
            out[UNDERSTOOD] = understood_clean(data[UNDERSTOOD])
        except ValidationError as exc:
            for message in exc.messages:
                fail(UNDERSTOOD, message)
    wants_something = ("description", "include", "authors", "examples")
    if not partial and not errors and not any(out.get(f) for f in wants_something):
        fail(
            "description",
            _("Describe the interest, or give phrases, authors or example papers."),
        )
    if errors:
        raise ValidationError(errors)
    return out


# arXiv's own DOIs (DataCite): 10.48550/arXiv.2411.01234.
ARXIV_DOI = "10.48550/arxiv."


def example_key(text: str) -> str:
    """The paper key an example is written as: an arXiv id without version (also for arXiv's
    own DOI, 10.48550/arXiv.<id>), a lower-case DOI."""
    text = text.strip()
    for prefix in ("https://arxiv.org/abs/", "http://arxiv.org/abs/", "arxiv:", "arXiv:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    for prefix in ("https://doi.org/", "http://doi.org/", "doi:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
            break
    if text.lower().startswith(ARXIV_DOI):
        text = text[len(ARXIV_DOI) :]
    elif text.startswith("10."):
        return text.lower()
    head, _v, version = text.rpartition("v")
    if head and version.isdigit() and head[-1:].isdigit():
        return head  # 2411.01234v2 → 2411.01234
    return text


def examples_as_keys(keys: list[str]) -> list[str]:
    """Each example as the key of the paper it names, when it is another name of one (an
    arXiv paper's DOI or journal DOI, a paper's arXiv id): the profile, the matches left out
    and what the radar learns read examples by key. Each once, in order; unknown ones as
    written (their paper may arrive later)."""
    named = papers_by_name(keys, Paper.objects.only("key", "arxiv_id", "doi", "journal_doi"))
    return list(dict.fromkeys(named[key].key if key in named else key for key in keys))


def understood_clean(value: Any) -> dict[str, Any]:
    """The owner's English profile as {"text", "keywords"} ({} to hand it back to the LLM);
    raises ValidationError: it is matched against English papers, so English it must be."""
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - {"text", "keywords"}:
        raise ValidationError(_("The English profile has a text and a list of keywords."))
    text = plain_text(str(value.get("text") or ""))
    keywords = value.get("keywords") or []
    if isinstance(keywords, str):
        keywords = keywords.replace("，", ",").replace("\n", ",").split(",")
    if not isinstance(keywords, list | tuple):
        raise ValidationError(_("Expected a list of strings."))
    keywords = list(dict.fromkeys(plain_text(str(k)) for k in keywords if plain_text(str(k))))
    problems: list[str] = []
    if len(text) > TEXT_CAP:
        problems.append(_("The English profile is at most %(n)d characters.") % {"n": TEXT_CAP})
    if len(keywords) > KEYWORDS_MAX:
        problems.append(_("At most %(n)d keywords.") % {"n": KEYWORDS_MAX})
    if any(len(k) > KEYWORD_CAP for k in keywords):
        problems.append(_("Each keyword is at most %(n)d characters.") % {"n": KEYWORD_CAP})
    if any(not is_latin(item) for item in (text, *keywords) if item):
        problems.append(_("Write the English profile and its keywords in English."))
    if problems:
        raise ValidationError(problems)
    return {"text": text, "keywords": keywords} if text or keywords else {}


def _understood_set(radar: Radar, value: dict[str, Any] | None) -> None:
    """Store the owner's profile (by "you", for the radar's description as it is now), or
    clear it; a changed description also clears the last LLM error."""
    if value is not None:
        radar.understood = understood_by_you(
            value.get("text", ""), value.get("keywords", []), radar.description
        )
    current = understood_parse(radar.understood)
    if current is None or current.digest != description_digest(radar.description):
        radar.understood_error = ""
        radar.understood_attempts = 0


def _describe_on_commit(radar: Radar) -> None:
    """Tell the floors above that the radar's description wants an English profile."""
    current = understood_parse(radar.understood)
    if (
        not llm_writes_profiles()
        or not radar.description.strip()
        or (current is not None and current.digest == description_digest(radar.description))
    ):
        return
    radar_id = radar.pk
    transaction.on_commit(lambda: radar_described.send(sender=Radar, radar_id=radar_id))


# Each radar costs a rescoring task and briefing calls: one account must not use the
# workers and the shared LLM budget up on its own.
MAX_RADARS_PER_USER = 50


def radar_limit_reached(owner_id: int) -> bool:
    """Whether the user already has MAX_RADARS_PER_USER radars (and may make no more)."""
    return Radar.objects.filter(owner_id=owner_id).count() >= MAX_RADARS_PER_USER


def radar_create(*, owner: AbstractBaseUser, fields: dict[str, Any]) -> Radar:
    """A new radar from cleaned `fields`; its owner is subscribed; recent papers are scored.

    Raises ValidationError when the owner already has MAX_RADARS_PER_USER radars.
    """
    if radar_limit_reached(owner.pk):
        raise ValidationError(
            _("You have %(n)d radars, the most an account can keep. Delete one first.")
            % {"n": MAX_RADARS_PER_USER}
        )
    fields = dict(fields)
    understood = fields.pop(UNDERSTOOD, None)
    with transaction.atomic():
        radar = Radar(owner_id=owner.pk, **fields)
        _understood_set(radar, understood)
        radar.save()
        profile = Profile.objects.filter(user_id=owner.pk).first()
        Subscription.objects.get_or_create(
            user_id=owner.pk,
            radar=radar,
            defaults={
                "frequency": profile.digest_frequency if profile else "daily",
                "language": profile.card_language if profile else "both",
            },
        )
        _rescore_on_commit(radar)
        _describe_on_commit(radar)
    return radar


def radar_update(radar: Radar, *, fields: dict[str, Any]) -> Radar:
    """Change a radar with cleaned `fields`; the recent window is rescored after commit."""
    fields = dict(fields)
    understood = fields.pop(UNDERSTOOD, None)
    with transaction.atomic():
        if understood is None:
            # What a worker may have stored since this radar was loaded decides what is due.
            radar.refresh_from_db(fields=[UNDERSTOOD, "understood_error", "understood_attempts"])
        for name, value in fields.items():
            setattr(radar, name, value)
        _understood_set(radar, understood)
        radar.updated_at = timezone.now()
        # A changed description or examples makes the stored profile stale.
        radar.profile_updated_at = None
        # Only what changed: a worker may have stored the LLM's profile since the page loaded.
        changed = [*fields, "updated_at", "profile_updated_at", "understood_error"]
        changed += ["understood_attempts"]
        if understood is not None:
            changed.append(UNDERSTOOD)
        radar.save(update_fields=changed)
        if not radar.public:
            # A topic made private again keeps no strangers.
            Subscription.objects.filter(radar=radar).exclude(user_id=radar.owner_id).delete()
        _rescore_on_commit(radar)
        _describe_on_commit(radar)
    return radar


def radar_delete(radar: Radar) -> None:
    """Delete a radar with its matches, feedback and subscriptions (its briefings stay, under
    its name, for the emails that showed them: digests.models.Briefing.radar_name)."""
    radar.delete()


def _rescore_on_commit(radar: Radar) -> None:
    enqueue_on_commit(radar_rescore, radar.pk)


def radar_feed_token_set(radar: Radar, *, enabled: bool) -> str | None:
    """Turn the radar's Atom feed on with a new secret URL, or off; returns the token."""
    radar.feed_token = secrets.token_urlsafe(24) if enabled else None
    radar.save(update_fields=["feed_token"])
    return radar.feed_token


# --- subscriptions, feedback, seen ----------------------------------------------------------


def subscription_set(*, user: AbstractBaseUser, radar: Radar, subscribed: bool) -> bool:
    """Follow or stop following a public topic (or one's own radar); returns the new state."""
    if subscribed:
        if not radar.public and radar.owner_id != user.pk:
            raise PermissionError("only public topics can be followed")
        profile = Profile.objects.filter(user_id=user.pk).first()
        Subscription.objects.get_or_create(
            user_id=user.pk,
            radar=radar,
            defaults={
                "frequency": profile.digest_frequency if profile else "daily",
                "language": profile.card_language if profile else "both",
            },
        )
    else:
        Subscription.objects.filter(user_id=user.pk, radar=radar).delete()
    return subscribed


def subscription_update(subscription: Subscription, *, frequency: str, language: str) -> None:
    """Set how a followed radar's briefing reaches its subscriber."""
    subscription.frequency = frequency
    subscription.language = language
    subscription.full_clean()
    subscription.save(update_fields=["frequency", "language"])


def subscriptions_follow_profile(profile: Profile) -> int:
    """Apply the profile's briefing frequency and language to every radar the user follows
    (this also turns back on a radar unsubscribed from with the one-click link)."""
    return Subscription.objects.filter(user_id=profile.user_id).update(
        frequency=profile.digest_frequency, language=profile.card_language
    )


def feedback_set(*, user: AbstractBaseUser, radar: Radar, paper: Paper, value: int) -> int:
    """Record 👍 (1), 👎 (-1) or no opinion (0); the owner's votes steer the radar's profile.

    The owner's 👎 also takes the paper out of the radar: its match is deleted (the feed, My
    radars, briefings and the API drop it) and matching leaves it out as it leaves out the
    radar's examples (`radar.matching.disliked_by_owner`). Taking the 👎 back queues a
    rescore, which lets the paper back if it still qualifies.
    """
    if value not in (-1, 0, 1):
        raise ValueError("feedback is 1, -1 or 0")
    owner = radar.owner_id == user.pk
    with transaction.atomic():
        previous = (
            Feedback.objects.filter(user_id=user.pk, radar=radar, paper=paper)
            .values_list("value", flat=True)
            .first()
        )
        if owner and value == Feedback.Value.DOWN:
            Match.objects.filter(radar=radar, paper=paper).delete()
        if value:
            Feedback.objects.update_or_create(
                user_id=user.pk, radar=radar, paper=paper, defaults={"value": value}
            )
        else:
            Feedback.objects.filter(user_id=user.pk, radar=radar, paper=paper).delete()
        SeenPaper.objects.bulk_create(
            [SeenPaper(user_id=user.pk, paper=paper)], ignore_conflicts=True
        )
    if owner and previous == Feedback.Value.DOWN and value != Feedback.Value.DOWN:
        # Back in the radar: the rescore recomputes the profile too, then matches the window.
        enqueue_on_commit(radar_rescore, radar.pk)
    elif owner:
        # Later papers are scored against the moved profile; recomputing it embeds the
        # description and rated papers, so a worker does it rather than this request.
        enqueue_on_commit(radar_profile_refresh, radar.pk)
    return value


def papers_mark_seen(*, user: AbstractBaseUser, paper_ids: Iterable[int]) -> None:
    """Remember that the user has been shown these papers (they stop being marked new)."""
    SeenPaper.objects.bulk_create(
        [SeenPaper(user_id=user.pk, paper_id=pid) for pid in set(paper_ids)],
        ignore_conflicts=True,
    )
