"""Every field of the radar app's models is named in the staff member's language: the labels of
the Radar, Match, Subscription, Feedback and SavedPaper change forms and their list columns
read in Chinese for a Chinese staff member, with no English field name left."""

from __future__ import annotations

import html
import re

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Profile
from radar.models import Feedback, Match, PaperEmbedding, Radar, SavedPaper, SeenPaper, Subscription
from tests.factories import (
    UserFactory,
    arxiv_paper,
    arxiv_source,
    make_radar,
    matched,
    person,
    signed_in,
)

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
RADAR_MODELS: list[type[Model]] = [
    Radar, Match, Subscription, Feedback, SavedPaper, SeenPaper, PaperEmbedding,
]  # fmt: skip


def field_names(model: type[Model], language: str) -> dict[str, str]:
    """Each field's verbose name in `language`, by field name (the id column left out)."""
    with translation.override(language):
        return {
            field.name: str(field.verbose_name)
            for field in model._meta.get_fields()
            if field.concrete and not getattr(field, "auto_created", False)
        }


def labels(page: str) -> list[str]:
    """The text of the page's field labels and column headings, colons and tags dropped."""
    found = re.findall(r"<label\b[^>]*>(.*?)</label>", page, re.S)
    found += re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page, re.S)
    texts = (html.unescape(re.sub(r"<[^>]+>", " ", text)) for text in found)
    return [" ".join(text.split()).rstrip(":：").strip() for text in texts]


@pytest.fixture
def staff_in_chinese() -> Client:
    """A superuser whose profile asks for Chinese (which wins over any cookie)."""
    user = UserFactory.create(name="operator", is_staff=True, is_superuser=True)
    Profile.objects.update_or_create(user=user, defaults={"language": "zh-hans"})
    return signed_in(user)


@pytest.mark.parametrize("model", RADAR_MODELS, ids=lambda m: m.__name__)
def test_every_field_has_a_chinese_name(model: type[Model]) -> None:
    # A field without a verbose name, or with one left out of the catalogue, reads in English.
    chinese = field_names(model, "zh-hans")

    assert {name: text for name, text in chinese.items() if not CJK.search(text)} == {}


def test_the_change_forms_and_lists_label_every_field_in_chinese(
    staff_in_chinese: Client,
) -> None:
    reader = person("reader")
    paper = arxiv_paper(arxiv_source(label="arXiv cs.CL"), title="Sparse attention")
    radar = make_radar(reader, name="Prompt injection", public=True)
    matched(radar, [paper], at=timezone.now())
    rows: list[Model] = [
        radar,
        Match.objects.get(radar=radar, paper=paper),
        Subscription.objects.get(user=reader, radar=radar),
        Feedback.objects.create(user=reader, radar=radar, paper=paper, value=1),
        SavedPaper.objects.create(user=reader, paper=paper),
    ]

    for row in rows:
        meta = row._meta
        english = set(field_names(type(row), "en").values())
        for view, args in (("change", [row.pk]), ("changelist", [])):
            response = staff_in_chinese.get(
                reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)
            )
            assert response.status_code == 200
            shown = [text for text in labels(response.content.decode()) if text]
            assert shown, (meta.model_name, view)
            left_in_english = sorted(set(shown) & english)
            assert left_in_english == [], (meta.model_name, view)
            assert [text for text in shown if not CJK.search(text)] == [], (meta.model_name, view)


def test_the_admin_saves_with_save_and_the_star_keeps_its_own_word(
    staff_in_chinese: Client,
) -> None:
    # The star's "Save" (收藏, keep a paper) has a context of its own, so it no longer turns
    # the admin's Save button (Django's 保存) into 收藏.
    reader = person("reader")
    radar = make_radar(reader, name="Prompt injection")
    form = staff_in_chinese.get(reverse("admin:radar_radar_change", args=[radar.pk]))
    assert 'value="保存"' in form.content.decode()
    assert 'value="收藏"' not in form.content.decode()
    paper = arxiv_paper(arxiv_source(label="arXiv cs.CL"), title="Sparse attention")
    page = staff_in_chinese.get(reverse("feeds:paper", args=[paper.key])).content.decode()
    assert 'aria-label="收藏"' in page
