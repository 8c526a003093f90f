"""Where cards show: the card partial (polling, language toggle), the paper page, the export,
the selector for list pages, and the admin."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from accounts.services import profile_for
from digests.models import Card
from digests.selectors import cards_for_papers
from feeds.models import Paper, Source
from testkit.fake_llm import valid_card
from tests.factories import UserFactory, card_for, make_paper, signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def paper(arxiv_source: Source) -> Paper:
    return make_paper(arxiv_source, title="Sparse attention for long documents")


def test_everyone_reads_the_same_card(paper: Paper, alice: User, bob: User, client: Client) -> None:
    card_for(paper)
    answers = [
        c.get(f"/cards/{paper.pk}/", headers=HTMX)
        for c in (signed_in(alice), signed_in(bob), client)
    ]
    for answer in answers:
        assert answer.status_code == 200
        body = answer.content.decode()
        assert "proposes a sparse attention method" in body
        assert "<html" not in body  # the partial, for htmx
    # Accounts made in English read English summaries; a visitor reads both languages.
    assert "本文提出一种稀疏注意力方法" in answers[2].content.decode()
    page = client.get(f"/cards/{paper.pk}/")
    assert page.status_code == 200 and "<html" in page.content.decode()


def test_an_unknown_paper_has_no_card_page(client: Client, alice: User) -> None:
    assert client.get("/cards/999999/").status_code == 404
    assert signed_in(alice).get("/cards/999999/", headers=HTMX).status_code == 404


def test_only_get_is_allowed(paper: Paper, alice: User) -> None:
    card_for(paper, "failed")
    assert signed_in(alice).post(f"/cards/{paper.pk}/").status_code in (403, 405)
    assert Card.objects.get().status == "failed"


def test_a_pending_card_polls_until_it_is_done(paper: Paper, client: Client) -> None:
    card = card_for(paper, "pending")

    pending = client.get(f"/cards/{paper.pk}/", headers=HTMX).content.decode()
    assert 'hx-trigger="every 5s"' in pending
    assert f'hx-get="/cards/{paper.pk}/"' in pending
    assert "Summary pending…" in pending
    assert 'hx-trigger="every 5s"' in client.get(f"/papers/{paper.key}/").content.decode()

    content = valid_card()
    Card.objects.filter(pk=card.pk).update(
        status="done", en=content["en"], zh=content["zh"], title_zh=content["title_zh"]
    )
    done = client.get(f"/cards/{paper.pk}/", headers=HTMX).content.decode()
    assert "hx-trigger" not in done  # the answer replaces the poller: polling stops
    assert "本文提出一种稀疏注意力方法" in done


def test_a_card_waiting_for_a_later_attempt_does_not_poll(paper: Paper, client: Client) -> None:
    card_for(paper, "pending", next_attempt_at=timezone.now() + timedelta(hours=3))

    body = client.get(f"/cards/{paper.pk}/", headers=HTMX).content.decode()

    assert "Summary pending…" in body and "hx-trigger" not in body


def test_the_language_toggle_shows_one_language_or_both(paper: Paper, client: Client) -> None:
    card_for(paper)
    en = escape(valid_card()["en"]["tldr"])
    zh = valid_card()["zh"]["tldr"]

    only_zh = client.get(f"/cards/{paper.pk}/?lang=zh", headers=HTMX).content.decode()
    only_en = client.get(f"/cards/{paper.pk}/?lang=en", headers=HTMX).content.decode()
    both = client.get(f"/cards/{paper.pk}/", headers=HTMX).content.decode()

    assert zh in only_zh and en not in only_zh and "用于长文档的稀疏注意力" in only_zh
    assert en in only_en and zh not in only_en
    assert en in both and zh in both
    assert f'href="/cards/{paper.pk}/?lang=en"' in only_zh  # works without JavaScript too
    assert f'hx-get="/cards/{paper.pk}/?lang=en"' in only_zh
    assert 'lang="zh-Hans" aria-current="true"' in only_zh


def test_the_paper_page_shows_the_tldr_in_the_readers_card_language(
    paper: Paper, alice: User, client: Client
) -> None:
    card_for(paper)
    en = escape(valid_card()["en"]["tldr"])
    zh = valid_card()["zh"]["tldr"]
    profile = profile_for(alice)
    profile.card_language = "en"
    profile.save()

    mine = signed_in(alice).get(f"/papers/{paper.key}/").content.decode()
    visitor = client.get(f"/papers/{paper.key}/").content.decode()

    assert en in mine and zh not in mine
    assert en in visitor and zh in visitor
    assert "<details" in mine and "Motivation" in mine  # the structured card, one click away


def test_a_failed_card_tells_readers_it_is_not_available_and_staff_why(
    paper: Paper, alice: User, client: Client
) -> None:
    card_for(paper, "failed", attempts=2, last_error="bad_output: zh.tldr is not in Chinese")
    staff = UserFactory.create(name="staff", is_staff=True)

    for reader in (client, signed_in(alice)):
        body = reader.get(f"/papers/{paper.key}/").content.decode()
        assert "Summary not available yet." in body
        assert "is not in Chinese" not in body
    staff_body = signed_in(staff).get(f"/papers/{paper.key}/").content.decode()
    assert "Failed after 2 attempts: bad_output: zh.tldr is not in Chinese" in staff_body


def test_a_paper_without_a_card_shows_no_card(paper: Paper, client: Client) -> None:
    body = client.get(f"/papers/{paper.key}/").content.decode()
    assert "llm-card" not in body


def test_the_list_selector_picks_each_papers_best_card_in_one_query(
    arxiv_source: Source,
) -> None:
    done, pending, failed, older, changed, extractive = (make_paper(arxiv_source) for _ in range(6))
    card_for(done)
    card_for(pending, "pending")
    card_for(failed, "failed")
    card_for(older, "pending")  # a new prompt's card on its way …
    card_for(older, "done", prompt_version="card-v0")  # … the older one shows meanwhile
    card_for(changed)
    Paper.objects.filter(pk=changed.pk).update(abstract="A new abstract.")
    card_for(extractive, "extractive", model="extractive", prompt_version="extractive-v2",
             en={"tldr": "We propose it."})  # fmt: skip
    card_for(extractive, "failed")

    with CaptureQueriesContext(connection) as queries:
        cards = cards_for_papers(
            [done.pk, pending.pk, failed.pk, older.pk, changed.pk, extractive.pk]
        )

    assert len(queries) == 1
    assert {paper_id: c.status for paper_id, c in cards.items()} == {
        done.pk: "done",
        pending.pk: "pending",
        failed.pk: "failed",
        older.pk: "done",
        extractive.pk: "extractive",
    }
    assert cards[older.pk].prompt_version == "card-v0"


def test_export_papers_includes_the_card_under_the_design_names(
    arxiv_source: Source,
) -> None:
    done, pending, bare = (make_paper(arxiv_source) for _ in range(3))
    card_for(done)
    card_for(pending, "pending")
    out = StringIO()

    call_command("export_papers", stdout=out)

    lines = {line["key"]: line for line in map(json.loads, out.getvalue().splitlines())}
    card = lines[done.key]["card"]
    assert set(card) == {"status", "title_zh", "en", "zh"}
    assert card["status"] == "done" and card["title_zh"] == "用于长文档的稀疏注意力"
    assert card["en"] == valid_card()["en"] and card["zh"] == valid_card()["zh"]
    assert list(card["zh"]) == ["tldr", "motivation", "method", "result", "conclusion"]
    assert lines[pending.key]["card"] == {
        "status": "pending",
        "title_zh": "",
        "en": dict.fromkeys(("tldr", "motivation", "method", "result", "conclusion"), ""),
        "zh": dict.fromkeys(("tldr", "motivation", "method", "result", "conclusion"), ""),
    }
    assert "card" not in lines[bare.key]


def test_export_costs_no_query_per_paper_for_its_card(arxiv_source: Source) -> None:
    def export_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            call_command("export_papers", stdout=StringIO())
        return len(queries)

    for _ in range(2):
        card_for(make_paper(arxiv_source))
    few = export_queries()
    for _ in range(8):
        card_for(make_paper(arxiv_source))
    assert export_queries() == few


def test_staff_retry_a_failed_card_from_the_admin(
    paper: Paper,
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    card = card_for(paper, "failed", attempts=8, last_error="bad_output: not JSON")
    admin = UserFactory.create(name="admin", is_staff=True, is_superuser=True)
    client = signed_in(admin)

    listing = client.get("/admin/digests/card/?status__exact=failed").content.decode()
    assert "bad_output: not JSON" in listing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/digests/card/",
            {"action": "retry_now", "_selected_action": [card.pk]},
        )

    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.status, card.attempts, card.next_attempt_at) == ("pending", 0, None)
    message = json.loads(redis_client.lindex("llm", 0))  # type: ignore[arg-type]
    assert message["headers"]["task"] == "digests.tasks.cards_generate"
    assert message["headers"]["argsrepr"] == f"([{paper.pk}],)"
