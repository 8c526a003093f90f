"""Which papers get cards (LLM_SUMMARIZE), extractive cards without an LLM, what is due, the
hand-over from matching, and `manage.py cards`."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
import redis
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from digests.cards import card_extract, cards_due, cards_generate, cards_request, text_hash
from digests.models import Card
from digests.selectors import card_for_paper
from digests.tasks import cards_generate_on_commit
from feeds.models import Paper, Source
from radar.models import Radar
from testkit.fake_llm import FakeLLM
from tests.factories import ABSTRACT, MatchFactory, make_paper, radar_of

pytestmark = pytest.mark.django_db

ZH_ABSTRACT = (
    "大语言模型在长文档摘要任务上代价高昂。本文提出一种稀疏注意力方法，只保留少量全局词元。"
    "实验结果表明，该方法在两个基准上与完整注意力效果相当。我们认为稀疏注意力是实用的默认选择。"
)


def test_matched_mode_asks_only_for_papers_an_active_radar_matched(
    llm_settings: Settings, arxiv_source: Source, alice: User
) -> None:
    matched = make_paper(arxiv_source)
    unmatched = make_paper(arxiv_source)
    paused_only = make_paper(arxiv_source)
    no_abstract = make_paper(arxiv_source, abstract="")
    MatchFactory.create(radar=radar_of(alice), paper=matched)
    MatchFactory.create(radar=radar_of(alice), paper=no_abstract)
    MatchFactory.create(radar=radar_of(alice, "paused", active=False), paper=paused_only)

    ids = cards_request([matched.pk, unmatched.pk, paused_only.pk, no_abstract.pk])

    assert ids == [matched.pk]
    assert list(Card.objects.values_list("paper_id", "status")) == [(matched.pk, "pending")]


def test_all_mode_asks_for_every_paper_and_off_for_none(
    llm_settings: Settings, arxiv_source: Source
) -> None:
    papers = [make_paper(arxiv_source) for _ in range(2)]
    llm_settings.LLM_SUMMARIZE = "off"
    assert cards_request([p.pk for p in papers]) == []
    assert cards_due() == []
    llm_settings.LLM_SUMMARIZE = "all"
    assert cards_request([p.pk for p in papers]) == sorted(p.pk for p in papers)


def test_the_hand_over_creates_pending_cards_and_enqueues_one_task_after_commit(
    llm_settings: Settings,
    arxiv_source: Source,
    alice: User,
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: object,
) -> None:
    papers = [make_paper(arxiv_source) for _ in range(3)]
    for paper in papers[:2]:
        MatchFactory.create(radar=radar_of(alice), paper=paper)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:  # type: ignore[operator]
        ids = cards_generate_on_commit([p.pk for p in papers])

    assert ids == [papers[0].pk, papers[1].pk]
    assert len(callbacks) == 1  # two papers fit in one task
    assert redis_client.llen("llm") == 1
    message = json.loads(redis_client.lindex("llm", 0))  # type: ignore[arg-type]
    assert message["headers"]["task"] == "digests.tasks.cards_generate"
    assert Card.objects.filter(status=Card.Status.PENDING).count() == 2


def test_matching_hands_its_matched_papers_to_the_cards(
    llm_settings: Settings,
    arxiv_source: Source,
    alice: User,
    django_capture_on_commit_callbacks: object,
) -> None:
    from academichub.pipeline import papers_match

    Radar.objects.create(owner=alice, name="Sparse", include='"sparse attention"')
    hit = make_paper(arxiv_source, title="Sparse attention for long documents")
    miss = make_paper(arxiv_source, title="Protein folding", abstract="Proteins fold quickly.")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # type: ignore[operator]
        papers_match([hit.pk, miss.pk])

    assert list(Card.objects.values_list("paper_id", flat=True)) == [hit.pk]
    assert len(callbacks) == 1


def test_without_an_llm_a_matched_paper_gets_an_extractive_card(
    no_llm: Settings, arxiv_source: Source, alice: User, client: Client
) -> None:
    paper = make_paper(arxiv_source)
    MatchFactory.create(radar=radar_of(alice), paper=paper)

    counts = cards_generate([paper.pk])

    card = Card.objects.get(paper=paper)
    assert counts["extractive"] == 1
    assert card.status == Card.Status.EXTRACTIVE
    assert (card.model, card.prompt_version) == ("extractive", "extractive-v2")
    # The abstract's own sentences, TeX intact, in the abstract's language only.
    assert card.en["tldr"] == (
        "We propose a sparse attention scheme that keeps a few global tokens and attends "
        "locally within fixed windows."
    )
    assert card.en["motivation"].startswith("Summarising long scientific documents")
    assert "$O(n^2)$" in card.en["motivation"]
    assert card.en["result"].startswith("On two benchmarks it matches full attention")
    assert card.en["conclusion"].startswith("Sparse attention is therefore")
    for value in card.en.values():
        assert value in ABSTRACT
    assert not any(card.zh.values())
    page = client.get(f"/papers/{paper.key}/").content.decode()
    assert "Extractive, no LLM configured" in page
    assert "We propose a sparse attention scheme" in page


def test_a_chinese_abstract_gives_a_chinese_extractive_card(no_llm: Settings) -> None:
    paper = Paper(title="长文档的稀疏注意力", abstract=ZH_ABSTRACT)

    content = card_extract(paper)

    assert content.zh["tldr"] == "本文提出一种稀疏注意力方法，只保留少量全局词元。"
    assert content.zh["result"] == "实验结果表明，该方法在两个基准上与完整注意力效果相当。"
    assert content.title_zh == "长文档的稀疏注意力"
    assert not any(content.en.values())


def test_once_an_llm_is_configured_extractive_cards_are_replaced(
    no_llm: Settings, fake_llm: FakeLLM, arxiv_source: Source, alice: User
) -> None:
    paper = make_paper(arxiv_source)
    MatchFactory.create(radar=radar_of(alice), paper=paper)
    cards_generate([paper.pk])
    assert card_for_paper(paper.pk).status == Card.Status.EXTRACTIVE  # type: ignore[union-attr]

    no_llm.LLM_BASE_URL = fake_llm.base_url
    no_llm.LLM_MODEL = "fake-model"
    no_llm.LLM_DAILY_TOKEN_BUDGET = 0
    out = StringIO()
    call_command("cards", "--limit", "10", stdout=out)

    report = json.loads(out.getvalue())
    assert report["due"] == 1 and report["done"] == 1 and report["model"] == "fake-model"
    shown = card_for_paper(paper.pk)
    assert shown is not None and shown.status == Card.Status.DONE
    assert len(fake_llm.card_requests) == 1


def test_due_cards_are_retries_whose_time_came_then_matched_papers_without_a_card(
    llm_settings: Settings, arxiv_source: Source, alice: User
) -> None:
    radar = radar_of(alice)
    later, ready, never, fresh, done = (make_paper(arxiv_source) for _ in range(5))
    for paper in (later, ready, never, fresh, done):
        MatchFactory.create(radar=radar, paper=paper)
    now = timezone.now()

    def card(paper: Paper, **fields: object) -> None:
        Card.objects.create(paper=paper, text_hash=text_hash(paper.title, paper.abstract),
                            prompt_version="card-v1", model="fake-model", **fields)  # fmt: skip

    card(later, status="failed", attempts=1, next_attempt_at=now + timedelta(hours=1))
    card(ready, status="failed", attempts=2, next_attempt_at=now - timedelta(minutes=1))
    card(never, status="failed", attempts=8)
    card(done, status="done")

    assert cards_due() == [ready.pk, fresh.pk]
    assert cards_due(limit=1) == [ready.pk]


def test_the_cards_command_generates_due_cards_and_prints_one_json_line(
    llm_settings: Settings, fake_llm: FakeLLM, arxiv_source: Source, alice: User
) -> None:
    radar = radar_of(alice)
    papers = [make_paper(arxiv_source) for _ in range(3)]
    for paper in papers:
        MatchFactory.create(radar=radar, paper=paper)
    out = StringIO()

    call_command("cards", "--limit", "2", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["due"] == 2 and report["done"] == 2 and report["papers"] == 2
    assert report["prompt_version"] == "card-v1"
    assert Card.objects.filter(status="done").count() == 2
    call_command("cards", stdout=StringIO())
    assert Card.objects.filter(status="done").count() == 3
    assert len(fake_llm.card_requests) == 3


def test_a_new_prompt_or_model_regenerates_done_cards_only_on_demand(
    llm_settings: Settings, fake_llm: FakeLLM, arxiv_source: Source, alice: User
) -> None:
    paper = make_paper(arxiv_source)
    MatchFactory.create(radar=radar_of(alice), paper=paper)
    Card.objects.create(paper=paper, text_hash=text_hash(paper.title, paper.abstract),
                        prompt_version="card-v0", model="old-model", status="done")  # fmt: skip

    assert cards_due() == []
    call_command("cards", stdout=StringIO())
    assert len(fake_llm.card_requests) == 0

    assert cards_due(outdated=True) == [paper.pk]
    out = StringIO()
    call_command("cards", "--outdated", stdout=out)
    assert json.loads(out.getvalue())["done"] == 1
    shown = card_for_paper(paper.pk)
    assert shown is not None and (shown.prompt_version, shown.model) == ("card-v1", "fake-model")
