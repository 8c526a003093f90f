"""A radar's own example papers are not its finds: the user picked them, so the live preview
(page and API) leaves them out and says so, and no match is stored for them when the radar
is rescored or new papers are matched; the picked list still shows them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from academichub.pipeline import papers_match
from accounts.models import Profile
from api.tokens import token_create
from feeds.models import Paper
from radar.matching import radar_rescore
from radar.models import Feedback, Match, Radar
from radar.services import radar_clean, radar_create, radar_update
from tests.factories import PaperFactory, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db

# Three papers on psychedelics and brain signalling (the picked examples), and one more on
# the same study that the radar should find.
LIKED = (
    "A psychedelic state arises from desynchronized brain activity",
    "Psilocybin desynchronizes the",  # "… human brain", with a no-break space
    "Adaptation to photoperiod via dynamic neurotransmitter segregation",
)
SIMILAR = "Your brain on shrooms — how psilocybin resets neural networks"
DESCRIPTION = "How psychedelics such as psilocybin change brain activity and signalling."
LEFT_OUT_EN = "Your 3 example papers are left out of the preview."
LEFT_OUT_ZH = "已略去你挑选的 3 篇示例论文。"


def liked_keys() -> list[str]:
    return [Paper.objects.get(title__startswith=title).key for title in LIKED]


def preview_titles(html: str) -> list[str]:
    found = re.findall(r'class="preview-item__title tex"[^>]*>(.*?)</a>', html)
    return [text_of(title) for title in found]


def is_liked(title: str) -> bool:
    return any(title.startswith(liked) for liked in LIKED)


def matched_titles(radar: Radar) -> set[str]:
    return set(Match.objects.filter(radar=radar).values_list("paper__title", flat=True))


# --- the live preview -----------------------------------------------------------------------


@pytest.mark.parametrize(("language", "line"), [("en", LEFT_OUT_EN), ("zh-hans", LEFT_OUT_ZH)])
def test_the_preview_leaves_the_picked_papers_out_finds_others_and_says_so(
    alice: User, nature_day: dict[str, str], language: str, line: str
) -> None:
    Profile.objects.update_or_create(user=alice, defaults={"language": language})
    keys = liked_keys()

    response = signed_in(alice).post(
        "/radars/preview/", {"description": DESCRIPTION, "examples": "\n".join(keys)}
    )

    assert response.status_code == 200
    html = response.content.decode()
    preview = html[: html.index('id="picked-papers"')]
    titles = preview_titles(preview)
    assert titles and not any(is_liked(t) for t in titles)
    assert titles[0] == SIMILAR
    assert line in text_of(preview)
    # The picked list (swapped in out of band) still shows all three.
    picked = html[html.index('id="picked-papers"') :]
    assert all(liked in picked for liked in LIKED)
    assert not Match.objects.exists()


def test_a_preview_without_examples_shows_those_papers_and_no_such_line(
    alice: User, nature_day: dict[str, str]
) -> None:
    html = signed_in(alice).post("/radars/preview/", {"description": DESCRIPTION}).content
    page = html.decode()

    assert any(is_liked(t) for t in preview_titles(page))
    assert "left out of the preview" not in page


def test_the_api_preview_leaves_the_examples_out_and_counts_them(
    alice: User, nature_day: dict[str, str]
) -> None:
    _, secret = token_create(user=alice, name="preview")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    keys = liked_keys()

    with_examples = api.post(
        "/api/v1/radars/preview",
        {"description": DESCRIPTION, "examples": keys, "days": 0},
        content_type="application/json",
    )
    without = api.post(
        "/api/v1/radars/preview",
        {"description": DESCRIPTION, "days": 0},
        content_type="application/json",
    )

    assert with_examples.status_code == 200, with_examples.content
    body = with_examples.json()
    ranked = [m["key"] for m in body["matches"]]
    assert not set(keys) & set(ranked)
    assert ranked[0] == nature_day[SIMILAR]
    assert body["examples_left_out"] == 3
    assert without.status_code == 200, without.content
    assert set(keys) & {m["key"] for m in without.json()["matches"]}
    assert without.json()["examples_left_out"] == 0


# --- stored matches -------------------------------------------------------------------------


def test_a_radar_made_from_three_picked_papers_stores_no_match_for_them(
    alice: User, nature_day: dict[str, str]
) -> None:
    keys = liked_keys()
    picked = radar_create(
        owner=alice,
        fields=radar_clean({"name": "Psychedelics", "description": DESCRIPTION, "examples": keys}),
    )
    plain = radar_create(
        owner=alice, fields=radar_clean({"name": "Described", "description": DESCRIPTION})
    )
    all_ids = list(Paper.objects.values_list("id", flat=True))

    # New papers matched against every radar (the pipeline stage), then the rescore a save
    # queues.
    papers_match(all_ids)
    after_matching = matched_titles(picked)
    radar_rescore(picked)
    radar_rescore(plain)

    for titles in (after_matching, matched_titles(picked)):
        assert SIMILAR in titles
        assert not any(is_liked(t) for t in titles)
    # A radar without examples is unchanged: the same papers are its finds.
    assert SIMILAR in matched_titles(plain)
    assert all(any(t.startswith(liked) for t in matched_titles(plain)) for liked in LIKED)
    # The radar's feed reads the stored rows (as My radars, the Atom feed and briefings do).
    feed = text_of(signed_in(alice).get(f"/radars/{picked.pk}/").content.decode())
    assert SIMILAR in feed
    assert not any(liked in feed for liked in LIKED)


def test_an_example_added_later_loses_its_match_at_the_rescore(alice: User) -> None:
    recent = PaperFactory.create(title="A jailbreak benchmark")
    liked = PaperFactory.create(title="Jailbreak prompts in the wild")
    # Matched when it was new, long before the window a rescore looks at, and rated.
    older = PaperFactory.create(
        title="Early jailbreak attacks", announced=recent.announced - timedelta(days=90)
    )
    for days_ago in range(1, 8):  # a week of other days with papers in between
        PaperFactory.create(
            title=f"Pottery {days_ago}", announced=recent.announced - timedelta(days=days_ago)
        )
    radar = Radar.objects.create(owner=alice, name="Jailbreaks", include="jailbreak")
    radar_rescore(radar)
    Match.objects.create(radar=radar, paper=older, score=40.0)
    Feedback.objects.create(user=alice, radar=radar, paper=liked, value=1)
    assert set(Match.objects.filter(radar=radar).values_list("paper_id", flat=True)) == {
        recent.pk,
        liked.pk,
        older.pk,
    }

    radar_update(radar, fields=radar_clean({"examples": [liked.key, older.key]}, partial=True))
    counts = radar_rescore(radar)

    matched = set(Match.objects.filter(radar=radar).values_list("paper_id", flat=True))
    assert recent.pk in matched
    assert liked.pk not in matched and older.pk not in matched
    assert counts["removed"] == 2
    # Matching the same papers again (a replacement arrives) does not bring them back.
    papers_match([recent.pk, liked.pk, older.pk])
    assert not Match.objects.filter(radar=radar, paper__in=[liked, older]).exists()


def test_an_example_written_as_another_name_of_a_paper_is_stored_as_its_key(alice: User) -> None:
    published = PaperFactory.create(
        title="Jailbreak prompts in the wild", journal_doi="10.1145/3658644.3670388"
    )
    preprint = PaperFactory.create(title="A jailbreak benchmark")
    fields = radar_clean(
        {
            "name": "Jailbreaks",
            "include": "jailbreak",
            "examples": [
                "https://doi.org/10.1145/3658644.3670388",  # its journal's DOI
                f"doi:10.48550/arXiv.{preprint.key}v2",  # arXiv's own DOI for it
                "10.1234/not-here-yet",
            ],
        }
    )

    assert fields["examples"] == [published.key, preprint.key, "10.1234/not-here-yet"]
    radar = radar_create(owner=alice, fields=fields)
    radar_rescore(radar)
    # Both are examples, not finds, though the query would match them.
    assert not Match.objects.filter(radar=radar).exists()
    radar.refresh_from_db()
    assert "jailbreak" in radar.learned["words"]
