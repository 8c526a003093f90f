"""Categories, subjects, disciplines, source labels and starter topics in both languages:
Chinese readers see Chinese names; English labels stay short; filter values stay stored."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

import feeds
from feeds.catalogue import ARXIV_CATEGORIES as CATALOGUE_CATEGORIES
from feeds.catalogue import JOURNALS_AND_PREPRINTS
from feeds.names import (
    ARXIV_CATEGORIES,
    DISCIPLINES,
    PREPRINT_SUBJECTS,
    TOPIC_DESCRIPTIONS,
    TOPIC_NAMES,
    arxiv_label,
    category_name,
    discipline_name,
    preprint_label,
    source_name,
    subject_name,
    topic_description,
    topic_name,
)
from radar.management.commands.seed_topics import TOPICS
from tests.factories import SourceFactory, arxiv_paper, biorxiv_paper, journal_paper
from tests.pages import text_of

DEMO_DATA = Path(feeds.__file__).resolve().parent / "demo_data"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _demo_arxiv_categories() -> set[str]:
    body = gzip.decompress((DEMO_DATA / "arxiv-rss-2024-11-28.xml.gz").read_bytes()).decode()
    return set(re.findall(r"<category>([^<]+)</category>", body))


def _demo_subjects() -> set[str]:
    rows = json.loads((DEMO_DATA / "biorxiv-2026-07-18.json").read_text())["collection"]
    return {row["category"] for row in rows}


def _chinese(text: str) -> bool:
    return bool(CJK.search(text))


def test_every_category_of_the_catalogue_and_the_demo_day_has_a_chinese_name() -> None:
    wanted = {code for code, _ in CATALOGUE_CATEGORIES} | _demo_arxiv_categories()
    assert len(wanted) > 140  # the demo day spans nearly all of arXiv
    with translation.override("zh-hans"):
        missing = sorted(code for code in wanted if not _chinese(category_name(code)))
    assert missing == []
    with translation.override("en"):
        assert category_name("cs.CL") == "Computation and Language"
        assert category_name("no.SUCH") == ""


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_name_has_a_form_in_both_languages(language: str) -> None:
    names = [*ARXIV_CATEGORIES.values(), *PREPRINT_SUBJECTS.values(), *DISCIPLINES.values()]
    with translation.override(language):
        shown = [str(name) for name in [*names, *TOPIC_NAMES.values()]]
    if language == "en":
        assert not any(_chinese(text) for text in shown)
    else:
        assert [text for text in shown if not _chinese(text)] == []


def test_disciplines_of_the_catalogue_and_demo_and_the_starter_topics_are_translated() -> None:
    disciplines = {d for _, d in CATALOGUE_CATEGORIES} | {row[4] for row in JOURNALS_AND_PREPRINTS}
    disciplines |= {"Multidisciplinary", "Biology"}  # the demo's (academichub demo)
    with translation.override("zh-hans"):
        assert discipline_name("Multidisciplinary") == "多学科"
        assert [d for d in sorted(disciplines) if not _chinese(discipline_name(d))] == []
        assert [t["name"] for t in TOPICS if not _chinese(topic_name(t["name"]))] == []
        assert [s for s in _demo_subjects() if not _chinese(subject_name(s))] == []
        # A name nobody listed is shown as stored.
        assert discipline_name("Astrobotany") == "Astrobotany"
        assert topic_name("My own radar") == "My own radar"


def test_labels_keep_the_code_short_in_english_and_name_it_in_chinese() -> None:
    with translation.override("en"):
        assert arxiv_label("cs.CL") == "arXiv (cs.CL)"
        assert arxiv_label("") == "arXiv"
        assert preprint_label("bioRxiv", "bioinformatics") == "bioRxiv (Bioinformatics)"
        assert preprint_label("bioRxiv", "space biology") == "bioRxiv (Space Biology)"
        assert source_name("medRxiv (Medicine)") == "medRxiv (Medicine)"
    with translation.override("zh-hans"):
        assert arxiv_label("cs.CL") == "arXiv（cs.CL 计算与语言）"
        assert arxiv_label("cs.ZZ") == "arXiv（cs.ZZ）"
        assert preprint_label("medRxiv", "Epidemiology") == "medRxiv（流行病学）"
        assert preprint_label("bioRxiv", "") == "bioRxiv"
        assert source_name("arXiv (q-bio)") == "arXiv（q-bio 定量生物学）"
        assert source_name("medRxiv (Medicine)") == "medRxiv（医学）"
        assert source_name("Nature") == "Nature"


@pytest.mark.django_db
def test_today_shows_labels_and_disciplines_in_the_readers_language(client: Client) -> None:
    arxiv_paper(title="A language paper", primary_category="cs.CL")
    biorxiv_paper(title="A genome paper", primary_category="bioinformatics")
    journal_paper(title="A Science paper")
    SourceFactory.create(slug="arxiv-q-bio", label="arXiv (q-bio)", discipline="Physics")

    english = client.get("/").content.decode()
    client.cookies["lang"] = "zh-hans"
    chinese = client.get("/").content.decode()

    cards = r'<span class="paper-card__source">([^<]*)</span>'
    assert sorted(re.findall(cards, english)) == [
        "Science",
        "arXiv (cs.CL)",
        "bioRxiv (Bioinformatics)",
    ]
    assert sorted(re.findall(cards, chinese)) == [
        "Science",
        "arXiv（cs.CL 计算与语言）",
        "bioRxiv（生物信息学）",
    ]
    # The table of contents names the same groups.
    toc = r'<ul class="toc"[^>]*>(.*?)</ul>'
    assert "bioRxiv（生物信息学）" in text_of(re.search(toc, chinese, re.S).group(1))  # type: ignore[union-attr]
    assert "arXiv (cs.CL)" in text_of(re.search(toc, english, re.S).group(1))  # type: ignore[union-attr]
    # The filter shows Chinese names and sends the stored English values.
    assert '<option value="Multidisciplinary">多学科</option>' in chinese
    assert '<option value="Biology">生物学</option>' in chinese
    assert '<option value="Multidisciplinary">Multidisciplinary</option>' in english
    assert ">arXiv（q-bio 定量生物学）</option>" in chinese
    filtered = client.get("/?discipline=Multidisciplinary").content.decode()
    assert re.findall(cards, filtered) == ["Science"]
    assert '<option value="Multidisciplinary" selected>多学科</option>' in filtered


def test_starter_topic_descriptions_are_chinese_for_chinese_readers_and_seeded_for_others() -> None:
    assert set(TOPIC_DESCRIPTIONS) == {t["name"] for t in TOPICS}
    with translation.override("en"):
        shown = {t["name"]: topic_description(t["name"], t["description"]) for t in TOPICS}
        assert shown == {t["name"]: t["description"] for t in TOPICS}
    with translation.override("zh-hans"):
        untranslated = [
            t["name"]
            for t in TOPICS
            if not _chinese(topic_description(t["name"], t["description"]))
        ]
        assert untranslated == []
        assert topic_description("Gravitational waves", TOPICS[-1]["description"]).startswith(
            "引力波天文学："
        )


def test_a_description_its_owner_wrote_is_shown_as_written() -> None:
    starter = next(t for t in TOPICS if t["name"] == "Diffusion models")
    with translation.override("zh-hans"):
        # The starter's name with other words (rewritten, or a user's own topic of that name).
        assert topic_description("Diffusion models", "Score-based models I read") == (
            "Score-based models I read"
        )
        assert topic_description("Diffusion models", starter["description"] + " ") == (
            starter["description"] + " "
        )
        # The starter's words under another name are the owner's own choice too.
        assert topic_description("My diffusion", starter["description"]) == starter["description"]
        assert topic_description("Diffusion models", "") == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "up", "down"), [("en", "Up", "Down"), ("zh-hans", "赞", "踩")]
)
def test_thumbs_are_named_in_words_in_the_admin(language: str, up: str, down: str) -> None:
    from django.conf import settings
    from django.urls import reverse

    from radar.models import Feedback
    from tests.factories import UserFactory, make_radar, signed_in

    reader = UserFactory.create(name="reader")
    radar = make_radar(reader)
    for value, title in [(1, "Liked"), (-1, "Disliked")]:
        paper = arxiv_paper(title=title)
        Feedback.objects.create(user=reader, radar=radar, paper=paper, value=value)
    staff = signed_in(UserFactory.create(name="operator", is_staff=True, is_superuser=True))
    staff.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = staff.get(
        reverse("admin:radar_feedback_changelist"), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    cells = re.findall(r'<td class="field-value">([^<]*)</td>', html)
    assert sorted(cells) == sorted([up, down])
    # The filter offers the same words; no emoji anywhere (boxes without an emoji font).
    assert f">{up}</a>" in html and f">{down}</a>" in html
    assert "👍" not in html and "👎" not in html
