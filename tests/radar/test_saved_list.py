"""/saved/ and its BibTeX/RIS exports: only ever the requester's own saved papers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from feeds.models import Paper, PaperSighting, Source
from radar.models import SavedPaper
from tests.factories import PaperFactory, SourceFactory

pytestmark = pytest.mark.django_db


def _save(user: User, paper: Paper, minutes_ago: int = 0) -> SavedPaper:
    return SavedPaper.objects.create(
        user=user, paper=paper, created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


@pytest.fixture
def papers() -> list[Paper]:
    return [
        PaperFactory.create(
            title="Attention over graphs",
            authors=["Ada Lovelace", "Alan Turing"],
            primary_category="cs.LG",
            links={"abs": "https://arxiv.org/abs/2411.00001", "pdf": "https://arxiv.org/pdf/x"},
        ),
        PaperFactory.create(title="Protein folding at scale", authors=["Rosalind Franklin"]),
        PaperFactory.create(title="Bob's private interest", authors=["Grace Hopper"]),
    ]


# --- the list ----------------------------------------------------------------------------


def test_a_visitor_is_sent_to_log_in(client: Client) -> None:
    response = client.get("/saved/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/saved/"


def test_the_owner_sees_their_papers_newest_first(
    client: Client, alice: User, papers: list[Paper]
) -> None:
    _save(alice, papers[0], minutes_ago=10)
    _save(alice, papers[1], minutes_ago=1)
    client.force_login(alice)

    html = client.get("/saved/").content.decode()

    assert html.index("Protein folding at scale") < html.index("Attention over graphs")
    assert "Ada Lovelace, Alan Turing" in html
    assert 'href="https://arxiv.org/abs/2411.00001"' in html
    assert f'href="/papers/{papers[0].key}/"' in html
    assert f'name="key" value="{papers[0].pk}"' in html
    assert html.count('aria-pressed="true"') == 2
    assert "2 papers saved." in html


def test_another_user_sees_none_of_the_owners_papers(
    client: Client, alice: User, bob: User, papers: list[Paper]
) -> None:
    _save(alice, papers[0])
    _save(bob, papers[2])
    client.force_login(bob)

    html = client.get("/saved/").content.decode()

    assert "Bob&#x27;s private interest" in html
    assert "Attention over graphs" not in html
    assert f'value="{papers[0].pk}"' not in html


def test_an_empty_list_says_how_to_save(client: Client, alice: User) -> None:
    client.force_login(alice)

    html = client.get("/saved/").content.decode()

    assert "Nothing saved yet." in html
    assert "Export all" not in html


def test_unsaving_from_the_list_without_javascript(
    client: Client, alice: User, papers: list[Paper]
) -> None:
    _save(alice, papers[0])
    client.force_login(alice)
    html = client.get("/saved/").content.decode()
    assert 'name="next" value="/saved/"' in html

    response = client.post(
        f"/saved/toggle/{papers[0].pk}/", {"saved": "0", "next": "/saved/"}, follow=True
    )

    assert response.redirect_chain == [("/saved/", 302)]
    assert "Attention over graphs" not in response.content.decode()
    assert not SavedPaper.objects.exists()


def test_the_list_uses_a_fixed_number_of_queries(
    client: Client, alice: User, django_assert_num_queries: Any
) -> None:
    client.force_login(alice)
    _save(alice, PaperFactory.create())
    client.get("/saved/")

    # session, user, profile, saved rows joined with their papers, their sightings+sources
    with django_assert_num_queries(5):
        one = client.get("/saved/")
    for n in range(15):
        paper = PaperFactory.create(arxiv_id="", authors=["A B", "C D", "E F", "G H"])
        source = SourceFactory.create(kind=Source.Kind.RSS, label=f"Journal {n}")
        PaperSighting.objects.create(source=source, paper=paper)
        _save(alice, paper)
    with django_assert_num_queries(5):
        many = client.get("/saved/")

    assert one.content.decode().count('class="paper-card saved-item"') == 1
    assert many.content.decode().count('class="paper-card saved-item"') == 16
    assert "Journal 14" in many.content.decode()
    assert "A B, C D, E F et al." in many.content.decode()


# --- exports -----------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["bib", "ris"])
def test_a_visitor_cannot_export(client: Client, ext: str) -> None:
    response = client.get(f"/saved/export.{ext}")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_export_all_as_bibtex(client: Client, alice: User, papers: list[Paper]) -> None:
    _save(alice, papers[0])
    _save(alice, papers[1])
    client.force_login(alice)

    response = client.get("/saved/export.bib")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-bibtex")
    assert response["Content-Disposition"] == 'attachment; filename="academichub-saved.bib"'
    body = response.content.decode()
    assert body.count("\n@") + body.startswith("@") == 2
    assert "title = {{Attention over graphs}}" in body
    assert "Protein folding at scale" in body


def test_export_all_as_ris(client: Client, alice: User, papers: list[Paper]) -> None:
    _save(alice, papers[0])
    _save(alice, papers[1])
    client.force_login(alice)

    response = client.get("/saved/export.ris")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-research-info-systems")
    body = response.content.decode()
    assert body.count("ER  - ") == 2
    assert "TI  - Attention over graphs" in body
    assert "AU  - Ada Lovelace" in body


@pytest.mark.parametrize("ext", ["bib", "ris"])
def test_exporting_a_selection_exports_only_those_papers(
    client: Client, alice: User, papers: list[Paper], ext: str
) -> None:
    _save(alice, papers[0])
    _save(alice, papers[1])
    client.force_login(alice)

    body = client.get(f"/saved/export.{ext}", {"key": [papers[1].pk]}).content.decode()

    assert "Protein folding at scale" in body
    assert "Attention over graphs" not in body


@pytest.mark.parametrize("ext", ["bib", "ris"])
def test_selecting_someone_elses_paper_exports_nothing_of_it(
    client: Client, alice: User, bob: User, papers: list[Paper], ext: str
) -> None:
    _save(alice, papers[0])
    _save(bob, papers[2])
    client.force_login(alice)

    body = client.get(f"/saved/export.{ext}", {"key": [papers[2].pk]}).content.decode()
    mixed = client.get(f"/saved/export.{ext}", {"key": [papers[2].pk, papers[0].pk]})

    assert body.strip() == ""
    assert "Bob's private interest" not in mixed.content.decode()
    assert "Attention over graphs" in mixed.content.decode()


@pytest.mark.parametrize("ext", ["bib", "ris"])
def test_exports_never_include_another_users_papers(
    client: Client, alice: User, bob: User, papers: list[Paper], ext: str
) -> None:
    _save(alice, papers[0])
    _save(bob, papers[2])
    client.force_login(bob)

    body = client.get(f"/saved/export.{ext}").content.decode()

    assert "Bob's private interest" in body
    assert "Attention over graphs" not in body


def test_junk_keys_export_nothing(client: Client, alice: User, papers: list[Paper]) -> None:
    _save(alice, papers[0])
    client.force_login(alice)

    response = client.get("/saved/export.bib", {"key": ["abc", "-1", "1 OR 1=1"]})

    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_exports_take_no_writes(client: Client, alice: User, papers: list[Paper]) -> None:
    client.force_login(alice)

    assert client.post("/saved/export.bib").status_code == 405
