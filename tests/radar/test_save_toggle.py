"""POST /saved/toggle/<paper_id>/: the star, with and without htmx."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from feeds.models import Paper
from radar.models import SavedPaper
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def paper() -> Paper:
    return PaperFactory.create()


def _url(paper: Paper) -> str:
    return f"/saved/toggle/{paper.pk}/"


def test_a_visitor_is_sent_to_log_in_and_nothing_is_saved(client: Client, paper: Paper) -> None:
    response = client.post(_url(paper), {"saved": "1"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert SavedPaper.objects.count() == 0


def test_get_is_not_allowed(client: Client, alice: User, paper: Paper) -> None:
    client.force_login(alice)

    assert client.get(_url(paper)).status_code == 405
    assert SavedPaper.objects.count() == 0


def test_an_unknown_paper_is_404(client: Client, alice: User) -> None:
    client.force_login(alice)

    assert client.post("/saved/toggle/999999/", {"saved": "1"}).status_code == 404
    assert SavedPaper.objects.count() == 0


def test_htmx_save_returns_the_pressed_star(client: Client, alice: User, paper: Paper) -> None:
    client.force_login(alice)

    response = client.post(_url(paper), {"saved": "1", "next": "/"}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<form")
    assert "<html" not in html
    assert 'aria-pressed="true"' in html
    assert 'aria-label="Remove from saved"' in html
    assert "icon--star" in html and "★" not in html
    assert f'hx-post="/saved/toggle/{paper.pk}/"' in html
    assert 'hx-target="this"' in html and 'hx-swap="outerHTML"' in html
    assert 'name="saved" value="0"' in html
    assert 'name="next" value="/"' in html
    assert SavedPaper.objects.filter(user=alice, paper=paper).count() == 1


def test_htmx_unsave_returns_the_empty_star(client: Client, alice: User, paper: Paper) -> None:
    SavedPaper.objects.create(user=alice, paper=paper)
    client.force_login(alice)

    response = client.post(_url(paper), {"saved": "0"}, headers=HTMX)

    html = response.content.decode()
    assert 'aria-pressed="false"' in html
    assert 'aria-label="Save"' in html
    assert "icon--star" in html and "☆" not in html
    assert not SavedPaper.objects.filter(user=alice, paper=paper).exists()


def test_saving_twice_is_harmless(client: Client, alice: User, paper: Paper) -> None:
    client.force_login(alice)

    client.post(_url(paper), {"saved": "1"}, headers=HTMX)
    response = client.post(_url(paper), {"saved": "1"}, headers=HTMX)

    assert 'aria-pressed="true"' in response.content.decode()
    assert SavedPaper.objects.filter(user=alice, paper=paper).count() == 1


def test_unsaving_twice_is_harmless(client: Client, alice: User, paper: Paper) -> None:
    SavedPaper.objects.create(user=alice, paper=paper)
    client.force_login(alice)

    client.post(_url(paper), {"saved": "0"})
    response = client.post(_url(paper), {"saved": "0"})

    assert response.status_code == 302
    assert not SavedPaper.objects.filter(user=alice).exists()


def test_without_a_state_it_flips(client: Client, alice: User, paper: Paper) -> None:
    client.force_login(alice)

    client.post(_url(paper))
    assert SavedPaper.objects.filter(user=alice, paper=paper).exists()
    client.post(_url(paper))
    assert not SavedPaper.objects.filter(user=alice, paper=paper).exists()


def test_a_plain_post_redirects_back(client: Client, alice: User, paper: Paper) -> None:
    client.force_login(alice)

    response = client.post(_url(paper), {"saved": "1", "next": "/search/?q=x"})

    assert response.status_code == 302
    assert response["Location"] == "/search/?q=x"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/"])
def test_it_never_redirects_off_site(
    client: Client, alice: User, paper: Paper, target: str
) -> None:
    client.force_login(alice)

    response = client.post(_url(paper), {"saved": "1", "next": target})

    assert response["Location"] == "/saved/"


def test_bobs_toggle_only_touches_bobs_row(
    client: Client, alice: User, bob: User, paper: Paper
) -> None:
    SavedPaper.objects.create(user=alice, paper=paper)
    client.force_login(bob)

    client.post(_url(paper), {"saved": "1"})
    assert SavedPaper.objects.filter(paper=paper).count() == 2
    client.post(_url(paper), {"saved": "0"})
    client.post(_url(paper), {"saved": "0"})

    assert list(SavedPaper.objects.filter(paper=paper).values_list("user_id", flat=True)) == [
        alice.pk
    ]


def test_csrf_is_enforced(alice: User, paper: Paper) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(_url(paper), {"saved": "1"}, headers=HTMX)

    assert response.status_code == 403
    assert not SavedPaper.objects.exists()


def test_another_sessions_token_is_refused(alice: User, bob: User, paper: Paper) -> None:
    other = Client(enforce_csrf_checks=True)
    other.force_login(bob)
    other.get("/saved/")
    foreign_token = other.cookies["csrftoken"].value
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/saved/")
    assert client.cookies["csrftoken"].value != foreign_token

    response = client.post(
        _url(paper), {"saved": "1"}, headers={**HTMX, "X-CSRFToken": foreign_token}
    )

    assert response.status_code == 403
    assert not SavedPaper.objects.exists()


def test_a_foreign_origin_is_refused(alice: User, paper: Paper) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/saved/")
    token = client.cookies["csrftoken"].value

    response = client.post(
        _url(paper),
        {"saved": "1"},
        headers={**HTMX, "X-CSRFToken": token, "Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert not SavedPaper.objects.exists()


def test_htmx_with_the_csrf_header_passes(alice: User, paper: Paper) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get("/saved/").content.decode()
    token = client.cookies["csrftoken"].value
    assert '"X-CSRFToken"' in page  # base.html puts the token in hx-headers

    response = client.post(_url(paper), {"saved": "1"}, headers={**HTMX, "X-CSRFToken": token})

    assert response.status_code == 200
    assert SavedPaper.objects.filter(user=alice, paper=paper).exists()
