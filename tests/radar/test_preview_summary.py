"""The live preview in one line under the radar form's description (phones show it there, out
of sight of the preview itself): it rides along with every live preview, in the reader's
language."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.services import profile_for
from radar.scoring import DEFAULT_THRESHOLD
from tests.factories import PaperFactory, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_papers() -> None:
    day = date(2024, 11, 28)
    PaperFactory.create(
        title="Prompt injection attacks on tool-using agents",
        abstract="We study indirect prompt injection.",
        announced=day,
    )
    PaperFactory.create(
        title="A survey of jailbreaks", abstract="A survey of jailbreak attacks.", announced=day
    )


def summary(html: str) -> str:
    """The text of the line under the description; its opening tag stays in the match."""
    found = re.search(r'(<p id="preview-summary"[^>]*>)(.*?)</p>', html, re.S)
    assert found, "no preview line under the description"
    return found.group(1) + " " + text_of(found.group(2))


def in_chinese(user: User) -> Client:
    profile = profile_for(user)
    profile.language = "zh-hans"
    profile.save()
    return signed_in(user)


def preview(client: Client, include: str) -> str:
    data = {"include": include, "threshold": f"{DEFAULT_THRESHOLD:g}"}
    return client.post("/radars/preview/", data, HTTP_HX_REQUEST="true").content.decode()


def test_the_live_preview_brings_its_line_under_the_description(
    alice: User, two_papers: None
) -> None:
    line = summary(preview(signed_in(alice), '"prompt injection"'))

    assert 'hx-swap-oob="true"' in line
    assert (
        "Preview: 1 paper in the last 7 announcement days: "
        "Prompt injection attacks on tool-using agents" in line
    )
    assert "See the preview" in line


def test_the_line_counts_papers_in_the_plural_and_names_the_best(
    alice: User, two_papers: None
) -> None:
    line = summary(preview(signed_in(alice), '"prompt injection" OR jailbreak'))

    assert "Preview: 2 papers in the last 7 announcement days; the best: " in line


def test_the_line_is_in_chinese_for_a_chinese_reader(alice: User, two_papers: None) -> None:
    client = in_chinese(alice)

    assert "预览：最近 7 个发布日共 1 篇论文，最匹配的是： Prompt injection" in summary(
        preview(client, "injection")
    )
    assert "预览：最近 7 个发布日共 2 篇论文，最匹配的是：" in summary(
        preview(client, "injection OR jailbreak")
    )
    assert "查看预览" in summary(preview(client, "injection"))


def test_the_line_says_when_nothing_matches_or_the_query_is_wrong(
    alice: User, two_papers: None
) -> None:
    client = signed_in(alice)

    assert "No paper of the last 7 days matches yet." in summary(preview(client, "folding"))
    assert "The preview waits until this is fixed: Include query:" in summary(
        preview(client, "(jailbreak")
    )


def test_the_line_is_empty_before_anything_is_typed(alice: User) -> None:
    page = signed_in(alice).get("/radars/new/").content.decode()

    assert '<p id="preview-summary" class="preview-summary"></p>' in page
    # On the page it sits right under the description, before the next field.
    assert page.index('name="description"') < page.index("preview-summary")
    assert page.index("preview-summary") < page.index('name="include"')


@pytest.mark.parametrize(
    ("language", "line", "heading"),
    [
        (
            "en",
            "Preview: 25 papers in the last 7 announcement days; the best: ",
            "25 papers in the last 7 announcement days; the best 20:",
        ),
        (
            "zh-hans",
            "预览：最近 7 个发布日共 25 篇论文，最匹配的是： ",
            "最近 7 个发布日共 25 篇论文，最匹配的 20 篇：",
        ),
    ],
)
def test_the_preview_counts_every_paper_it_would_catch_not_just_those_shown(
    alice: User, language: str, line: str, heading: str
) -> None:
    for n in range(25):
        PaperFactory.create(
            title=f"Prompt injection study {n}",
            abstract="Prompt injection.",
            announced=date(2024, 11, 28),
        )
    client = in_chinese(alice) if language == "zh-hans" else signed_in(alice)

    html = preview(client, '"prompt injection"')

    assert line in summary(html)
    assert heading in text_of(html)
    assert html.count('class="preview-item"') == 20
