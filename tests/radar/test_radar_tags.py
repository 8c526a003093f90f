"""The card helpers every list page uses: `saved_paper_ids` and `radar/_save_button.html`."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import RequestFactory

from feeds.models import Paper
from radar.models import SavedPaper
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

PAGE = Template(
    "{% load radar_tags %}{% saved_paper_ids papers as saved_ids %}"
    "{% for paper in papers %}{% if paper.id in saved_ids %}[{{ paper.id }}]{% endif %}"
    "{% endfor %}"
)


def _request(user: User | AnonymousUser) -> Any:
    request = RequestFactory().get("/today/?page=2")
    request.user = user
    return request


def test_it_finds_the_users_saved_papers_in_one_query(
    alice: User, bob: User, django_assert_num_queries: Any
) -> None:
    papers = PaperFactory.create_batch(4)
    SavedPaper.objects.create(user=alice, paper=papers[1])
    SavedPaper.objects.create(user=alice, paper=papers[3])
    SavedPaper.objects.create(user=bob, paper=papers[0])
    request = _request(alice)

    with django_assert_num_queries(1):
        out = PAGE.render(Context({"papers": papers, "request": request, "user": alice}))

    assert out == f"[{papers[1].pk}][{papers[3].pk}]"


def test_it_is_empty_for_a_visitor_without_a_query(django_assert_num_queries: Any) -> None:
    papers = PaperFactory.create_batch(2)
    SavedPaper.objects.create(user=User.objects.create(username="x"), paper=papers[0])

    with django_assert_num_queries(0):
        out = PAGE.render(Context({"papers": papers, "request": _request(AnonymousUser())}))

    assert out == ""


def test_it_takes_a_queryset_too(alice: User) -> None:
    paper = PaperFactory.create()
    SavedPaper.objects.create(user=alice, paper=paper)

    out = PAGE.render(
        Context({"papers": Paper.objects.all(), "request": _request(alice), "user": alice})
    )

    assert out == f"[{paper.pk}]"


def _button(user: User | AnonymousUser, paper: Paper, is_saved: bool) -> str:
    request = _request(user)
    return render_to_string(
        "radar/_save_button.html",
        {"paper": paper, "is_saved": is_saved, "user": user},
        request=request,
    )


def test_an_unsaved_paper_gets_an_empty_star_that_saves_it(alice: User) -> None:
    paper = PaperFactory.create()

    html = _button(alice, paper, False)

    assert f'action="/saved/toggle/{paper.pk}/"' in html
    assert f'hx-post="/saved/toggle/{paper.pk}/"' in html
    assert 'method="post"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'class="save-button" aria-pressed="false" aria-label="Save"' in html
    assert "icon--star" in html and "☆" not in html
    assert 'name="next" value="/today/?page=2"' in html


def test_a_saved_paper_gets_a_filled_star_that_removes_it(alice: User) -> None:
    html = _button(alice, PaperFactory.create(), True)

    assert 'aria-pressed="true" aria-label="Remove from saved"' in html
    assert "icon--star" in html and "★" not in html
    assert 'name="saved" value="0"' in html


def test_a_visitor_gets_a_link_to_log_in() -> None:
    html = _button(AnonymousUser(), PaperFactory.create(), False)

    assert "<form" not in html
    assert 'href="/accounts/login/?next=/today/%3Fpage%3D2"' in html
