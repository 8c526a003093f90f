"""Cards made through the real `openai` client against the fake server on loopback: one call
per paper for both languages, every kind of bad answer, and what the card says afterwards."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from digests.cards import cards_generate, text_hash
from digests.models import Card, LLMCall
from digests.selectors import card_for_paper
from feeds.models import Paper, Source
from testkit.fake_llm import FakeLLM, Reply, card_reply, error_reply, text_reply, valid_card
from tests.factories import MatchFactory, make_paper, radar_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper(arxiv_source: Source, alice: User) -> Paper:
    paper = make_paper(arxiv_source, title="Sparse attention for long documents")
    MatchFactory.create(radar=radar_of(alice), paper=paper)
    return paper


def only_card(paper: Paper) -> Card:
    return Card.objects.get(paper=paper)


def test_one_call_gives_both_languages(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    counts = cards_generate([paper.pk])

    card = only_card(paper)
    assert counts["done"] == 1
    assert card.status == Card.Status.DONE
    assert card.title_zh == "用于长文档的稀疏注意力"
    assert card.en["tldr"].startswith("The paper behind")
    assert card.zh["method"] == "作者保留少量全局词元，并在固定窗口内进行局部注意力计算。"
    assert "$O(n^2)$" in card.en["motivation"]  # TeX kept as TeX
    assert card.keywords == ["sparse attention", "summarization", "long documents"]
    assert (card.prompt_tokens, card.completion_tokens, card.llm_calls) == (600, 300, 1)
    assert (card.model, card.prompt_version) == ("fake-model", "card-v1")
    assert len(fake_llm.card_requests) == 1
    request = fake_llm.card_requests[0]
    assert request.body["model"] == "fake-model"
    assert request.body["response_format"]["type"] == "json_schema"
    assert request.body["response_format"]["json_schema"]["strict"] is True
    assert request.paper["title"] == "Sparse attention for long documents"
    assert request.paper["source"] == "arXiv (cs.CL)"
    call = LLMCall.objects.get()
    assert (call.purpose, call.outcome, call.prompt_tokens, call.completion_tokens) == (
        "card",
        "ok",
        600,
        300,
    )


def test_json_object_mode_puts_the_schema_in_the_prompt(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    llm_settings.LLM_JSON_MODE = "json_object"

    cards_generate([paper.pk])

    request = fake_llm.card_requests[0]
    assert request.body["response_format"] == {"type": "json_object"}
    system = request.messages[0]["content"]
    assert "JSON Schema" in system and '"title_zh"' in system and '"conclusion"' in system
    assert only_card(paper).status == Card.Status.DONE


def test_a_code_fenced_answer_is_accepted(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    fake_llm.script(
        text_reply("```json\n" + json.dumps(valid_card(), ensure_ascii=False) + "\n```")
    )

    cards_generate([paper.pk])

    assert only_card(paper).status == Card.Status.DONE
    assert len(fake_llm.card_requests) == 1


def test_running_again_or_reingesting_the_same_text_makes_no_call(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    cards_generate([paper.pk])
    # A replacement (v2) with new links and metadata but the same title and abstract.
    paper.version = 2
    paper.content_hash = "changed"
    paper.links = {"abs": "https://arxiv.org/abs/x"}
    paper.save()

    counts = cards_generate([paper.pk])

    assert counts["skipped"] == 1 and counts["done"] == 0
    assert len(fake_llm.card_requests) == 1
    assert Card.objects.filter(paper=paper).count() == 1


def test_a_changed_abstract_gets_a_new_card(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    cards_generate([paper.pk])
    old = only_card(paper)
    paper.abstract = paper.abstract + " We also release our code."
    paper.save()

    assert card_for_paper(paper.pk) is None  # the old card no longer describes the paper
    cards_generate([paper.pk])

    assert len(fake_llm.card_requests) == 2
    shown = card_for_paper(paper.pk)
    assert shown is not None and shown.pk != old.pk and shown.status == Card.Status.DONE


def test_500s_are_retried_then_the_card_stays_pending_with_backoff(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    fake_llm.script(error_reply(500), error_reply(502), error_reply(503))

    counts = cards_generate([paper.pk])

    card = only_card(paper)
    assert counts["pending"] == 1
    assert len(fake_llm.card_requests) == 3  # the call and LLM_MAX_RETRIES = 2 retries
    assert card.status == Card.Status.PENDING
    assert card.attempts == 1
    assert card.last_error.startswith("server_error: server error 503")
    assert card.next_attempt_at is not None
    assert card.next_attempt_at > timezone.now() + timedelta(minutes=4)
    assert not card.polls  # waiting minutes: the page stops asking


def test_a_500_then_an_answer_gives_a_card(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    fake_llm.script(error_reply(500))

    cards_generate([paper.pk])

    assert only_card(paper).status == Card.Status.DONE
    assert len(fake_llm.card_requests) == 2
    assert list(LLMCall.objects.order_by("id").values_list("outcome", flat=True)) == [
        "server_error",
        "ok",
    ]


def test_429_waits_for_retry_after_then_succeeds(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    fake_llm.script(error_reply(429, "slow down", {"Retry-After": "1"}))

    started = time.monotonic()
    cards_generate([paper.pk])

    assert time.monotonic() - started >= 1.0
    assert only_card(paper).status == Card.Status.DONE
    assert len(fake_llm.card_requests) == 2


def test_429_with_a_long_retry_after_leaves_the_card_pending_until_then(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    fake_llm.script(error_reply(429, "quota", {"Retry-After": "3600"}))

    started = time.monotonic()
    cards_generate([paper.pk])

    card = only_card(paper)
    assert time.monotonic() - started < 3  # no waiting past the deadline
    assert len(fake_llm.card_requests) == 1
    assert card.status == Card.Status.PENDING
    assert card.last_error.startswith("rate_limited")
    assert card.next_attempt_at is not None
    assert card.next_attempt_at >= timezone.now() + timedelta(minutes=59)


def test_a_hanging_endpoint_is_given_up_at_the_timeout(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    llm_settings.LLM_TIMEOUT = 1.0
    fake_llm.script(Reply(body=b"{}", delay=20))

    started = time.monotonic()
    cards_generate([paper.pk])

    assert time.monotonic() - started < 3
    card = only_card(paper)
    assert card.status == Card.Status.PENDING
    assert card.last_error.startswith("timeout")
    assert len(fake_llm.card_requests) == 1  # a timeout is not retried past the deadline


def test_non_json_is_repaired_once(llm_settings: Settings, fake_llm: FakeLLM, paper: Paper) -> None:
    fake_llm.script(text_reply("Sure! This paper is about sparse attention."))

    cards_generate([paper.pk])

    card = only_card(paper)
    assert card.status == Card.Status.DONE
    assert card.llm_calls == 2 and card.prompt_tokens == 1200
    repair = fake_llm.card_requests[1].messages
    assert repair[-2] == {
        "role": "assistant",
        "content": "Sure! This paper is about sparse attention.",
    }
    assert "the answer is not JSON" in repair[-1]["content"]


def test_truncated_json_twice_fails_with_the_reason_and_shows_nothing_of_it(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper, client: Client
) -> None:
    truncated = json.dumps(valid_card(), ensure_ascii=False)[:250]
    fake_llm.script(
        text_reply(truncated, finish_reason="length"), text_reply(truncated, finish_reason="length")
    )

    counts = cards_generate([paper.pk])

    card = only_card(paper)
    assert counts["failed"] == 1
    assert card.status == Card.Status.FAILED
    assert "not valid JSON" in card.last_error and "after one repair" in card.last_error
    assert card.en == {} and card.zh == {}
    assert card.prompt_tokens == 1200  # garbage still costs tokens, and they are counted
    assert card.next_attempt_at is not None and card.next_attempt_at > timezone.now()
    page = client.get(f"/papers/{paper.key}/").content.decode()
    assert "Summary not available yet." in page
    assert "not valid JSON" not in page  # the reason is for staff
    assert "用于长文档" not in page


def test_off_schema_json_fails(llm_settings: Settings, fake_llm: FakeLLM, paper: Paper) -> None:
    off = {"summary": "A sparse attention method.", "language": "en"}
    fake_llm.script(card_reply(off), card_reply(off))

    cards_generate([paper.pk])

    card = only_card(paper)
    assert card.status == Card.Status.FAILED
    assert "does not fit the card schema" in card.last_error
    assert "title_zh" in card.last_error


def test_english_in_the_chinese_fields_is_rejected(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    lazy = valid_card()
    lazy["zh"] = dict(lazy["en"])
    fake_llm.script(card_reply(lazy), card_reply(lazy))

    cards_generate([paper.pk])

    card = only_card(paper)
    assert card.status == Card.Status.FAILED
    assert "zh.tldr is not in Chinese" in card.last_error
    assert "is not in Chinese" in fake_llm.card_requests[1].messages[-1]["content"]


def test_chinese_in_the_english_fields_is_rejected_then_repaired(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    swapped = valid_card()
    swapped["en"] = dict(swapped["zh"])
    fake_llm.script(card_reply(swapped))

    cards_generate([paper.pk])

    assert only_card(paper).status == Card.Status.DONE
    assert "en.tldr is not in English" in fake_llm.card_requests[1].messages[-1]["content"]


def test_a_refusal_fails_the_card_without_a_repair(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    fake_llm.script(text_reply(None, refusal="I can't help with that."))  # type: ignore[arg-type]

    cards_generate([paper.pk])

    card = only_card(paper)
    assert card.status == Card.Status.FAILED
    assert "refused: I can't help with that." in card.last_error
    assert len(fake_llm.card_requests) == 1
    assert LLMCall.objects.get().outcome == "refused"


def test_a_request_the_endpoint_refuses_fails_the_card_with_the_reason(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    fake_llm.script(error_reply(404, "model fake-model does not exist"))

    cards_generate([paper.pk])

    card = only_card(paper)
    assert card.status == Card.Status.FAILED
    assert "model fake-model does not exist" in card.last_error
    assert len(fake_llm.card_requests) == 1


def test_a_card_that_keeps_failing_waits_for_staff_after_the_last_attempt(
    llm_settings: Settings, fake_llm: FakeLLM, paper
) -> None:
    from digests.cards import MAX_ATTEMPTS

    Card.objects.create(
        paper=paper,
        text_hash=text_hash(paper.title, paper.abstract),
        prompt_version="card-v1",
        model="fake-model",
        status=Card.Status.FAILED,
        attempts=MAX_ATTEMPTS - 1,
    )
    fake_llm.script(text_reply("no"), text_reply("still no"))

    cards_generate([paper.pk])
    cards_generate([paper.pk])

    card = only_card(paper)
    assert card.attempts == MAX_ATTEMPTS
    assert card.next_attempt_at is None
    assert len(fake_llm.card_requests) == 2  # the second run found nothing due


def test_a_refused_connection_leaves_the_card_pending(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    fake_llm.stop()  # nothing listens on its port any more

    cards_generate([paper.pk])

    card = only_card(paper)
    assert card.status == Card.Status.PENDING
    assert card.last_error.startswith("connection: endpoint unreachable")
    assert LLMCall.objects.filter(outcome="connection").count() == 3  # the call + 2 retries


def test_a_100_kb_answer_is_rejected_not_stored(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    huge = valid_card()
    huge["en"]["result"] = "The result is long. " * 5000  # ~100 KB
    fake_llm.script(card_reply(huge), card_reply(huge))

    cards_generate([paper.pk])

    card = only_card(paper)
    assert card.status == Card.Status.FAILED
    assert "en.result is longer than 900 characters" in card.last_error
    assert card.en == {}


def test_the_prompt_names_the_source_in_english_whatever_the_readers_language() -> None:
    from django.utils import translation

    from digests.cards import paper_data
    from feeds.selectors import papers_for_display
    from tests.factories import arxiv_paper

    arxiv_paper(primary_category="cs.CL")
    paper = papers_for_display(Paper.objects.all()).get()
    with translation.override("zh-hans"):
        assert paper_data(paper)["source"] == "arXiv (cs.CL)"


def test_an_extractive_card_of_an_abstract_cut_mid_word_ends_at_a_whole_word() -> None:
    from digests.cards import card_extract
    from tests.factories import biorxiv_paper

    paper = biorxiv_paper(
        abstract="Subcortical structures shape cortical computation, yet it remains unclear "
        "whether individual differences in subcortical anatomy ar"
    )
    tldr = card_extract(paper).en["tldr"]
    assert tldr.endswith("subcortical anatomy…") and " ar" not in tldr[-4:]
