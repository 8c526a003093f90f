"""Cards are never lost over a cosmetic limit: a slightly long field is trimmed at a sentence
or word boundary, extra or over-long keywords are dropped, all recorded for staff; only a
missing, empty or wrong-language essential fails the card (and it is retried later), never a
terse style or a title that is only a name. The schema sent to the model states the limits
the validator trims to."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from digests.cards import (
    EN_CAPS,
    KEYWORD_CAP,
    KEYWORDS_MAX,
    TITLE_ZH_CAP,
    ZH_CAPS,
    cards_due,
    cards_generate,
    is_english,
    name_only,
    trim,
)
from digests.models import Card
from feeds.models import Paper, Source
from testkit.fake_llm import FakeLLM, card_reply, valid_card
from tests.factories import MatchFactory, UserFactory, make_paper, radar_of, signed_in

pytestmark = pytest.mark.django_db

EN_SENTENCE = (
    "The authors keep a small set of global tokens and attend locally within fixed windows "
    "of the text, which keeps memory linear in the length of the input document. "
)
ZH_SENTENCE = "作者保留少量全局词元，并在固定窗口内进行局部注意力计算，使内存随输入长度线性增长。"


@pytest.fixture
def paper(arxiv_source: Source, alice: User) -> Paper:
    paper = make_paper(arxiv_source, title="Sparse attention for long documents")
    MatchFactory.create(radar=radar_of(alice), paper=paper)
    return paper


def too_long_card() -> dict[str, object]:
    """What a schema-obeying model may still write: fields a little over their caps, twelve
    keywords, one of them 120 characters long."""
    card = valid_card()
    card["en"]["method"] = (EN_SENTENCE * 6).strip()  # ~1,000 characters, cap 900
    card["en"]["tldr"] = " ".join(["A sparse attention method summarises long documents"] * 9)
    card["zh"]["result"] = ZH_SENTENCE * 12  # ~490 characters, cap 450
    card["title_zh"] = "用于长文档的稀疏注意力" * 30  # 330 characters, cap 300
    long_keyword = "sparse attention with global tokens and local windows for long " * 2
    card["keywords"] = [f"keyword {i}" for i in range(11)]
    card["keywords"].insert(3, long_keyword[:120])
    return card


def test_slightly_long_fields_and_too_many_keywords_are_trimmed_and_the_card_is_done(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper, client: Client
) -> None:
    sent = too_long_card()
    fake_llm.script(card_reply(sent))

    counts = cards_generate([paper.pk])

    card = Card.objects.get(paper=paper)
    assert counts["done"] == 1 and card.status == Card.Status.DONE
    assert len(fake_llm.card_requests) == 1  # trimmed, not sent back for repair
    # Whole sentences that fit, never a cut word.
    method = card.en["method"]
    assert len(method) <= EN_CAPS["other"] and method.endswith("document.")
    assert sent["en"]["method"].startswith(method)  # type: ignore[index]
    assert method.count("The authors keep") == 5
    # One long sentence: cut at a word boundary, with an ellipsis.
    tldr = card.en["tldr"]
    assert len(tldr) <= EN_CAPS["tldr"] and tldr.endswith("…")
    cut = tldr.removesuffix("…")
    assert sent["en"]["tldr"].startswith(cut)  # type: ignore[index]
    assert sent["en"]["tldr"][len(cut)] == " "  # type: ignore[index]
    # Chinese: whole sentences ending in 。.
    result = card.zh["result"]
    assert len(result) <= ZH_CAPS["other"] and result.endswith("。")
    assert result == ZH_SENTENCE * (ZH_CAPS["other"] // len(ZH_SENTENCE))
    assert len(card.title_zh) <= TITLE_ZH_CAP and card.title_zh.endswith("…")
    # The 120-character keyword is dropped, then the first ten are kept.
    assert card.keywords == [f"keyword {i}" for i in range(KEYWORDS_MAX)]
    assert all(len(k) <= KEYWORD_CAP for k in card.keywords)
    assert set(card.flags) == {
        "trimmed:en.method",
        "trimmed:en.tldr",
        "trimmed:zh.result",
        "trimmed:title_zh",
        "keyword_dropped",
        "keywords_cut",
    }
    # Readers see the trimmed card; staff also see what was changed.
    page = client.get(f"/papers/{paper.key}/").content.decode()
    assert "The authors keep a small set of global tokens" in page
    assert "trimmed:en.method" not in page
    staff = UserFactory.create(name="staff-trim", is_staff=True)
    staff_page = signed_in(staff).get(f"/papers/{paper.key}/").content.decode()
    assert "trimmed:en.method" in staff_page and "keyword_dropped" in staff_page


@pytest.mark.parametrize(
    ("text", "cap", "chinese", "expected"),
    [
        pytest.param("One. Two words here. Three.", 21, False, "One. Two words here.", id="sentences"),
        pytest.param("Sparse attention keeps memory linear", 20, False, "Sparse attention…", id="word"),
        pytest.param("Costs grow as $O(n^2 \\log n)$ in length", 25, False, "Costs grow as…", id="tex"),
        pytest.param("稀疏注意力很有效。它节省内存。它也很快。", 15, True, "稀疏注意力很有效。它节省内存。", id="zh-sentences"),
        pytest.param("作者保留少量全局词元，并在固定窗口内进行局部注意力计算", 16, True, "作者保留少量全局词元…", id="zh-clause"),
        pytest.param("本文提出稀疏注意力方法 SparseFormer 用于长文档", 16, True, "本文提出稀疏注意力方法…", id="zh-term"),
        pytest.param("Short enough.", 40, False, "Short enough.", id="untouched"),
    ],
)  # fmt: skip
def test_trimming_stops_at_a_sentence_or_word_never_inside_one(
    text: str, cap: int, chinese: bool, expected: str
) -> None:
    assert trim(text, cap, chinese=chinese) == expected
    assert len(expected) <= cap


def test_an_answer_that_ran_away_still_fails(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    runaway = valid_card()
    runaway["en"]["result"] = "The result is long. " * 200  # 3,999 once stripped, cap 900
    fake_llm.script(card_reply(runaway), card_reply(runaway))

    cards_generate([paper.pk])

    card = Card.objects.get(paper=paper)
    assert card.status == Card.Status.FAILED
    assert "en.result is longer than 900 characters (3999, a runaway answer)" in card.last_error


def test_a_missing_tldr_fails_visibly_and_is_retried_later(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper, client: Client
) -> None:
    without = valid_card()
    del without["en"]["tldr"]
    fake_llm.script(card_reply(without), card_reply(without))

    counts = cards_generate([paper.pk])

    card = Card.objects.get(paper=paper)
    assert counts["failed"] == 1 and card.status == Card.Status.FAILED
    assert "en.tldr: Field required" in card.last_error
    assert card.en == {}  # nothing of a rejected answer is stored
    staff = UserFactory.create(name="staff-missing", is_staff=True)
    staff_page = signed_in(staff).get(f"/papers/{paper.key}/").content.decode()
    assert "Failed after 1 attempt: bad_output:" in staff_page and "en.tldr" in staff_page
    visitor = client.get(f"/papers/{paper.key}/").content.decode()
    assert "Summary not available yet." in visitor and "en.tldr" not in visitor
    assert cards_due() == []  # it waits for its backoff
    assert card.next_attempt_at is not None

    with time_machine.travel(card.next_attempt_at + timedelta(seconds=1)):
        assert cards_due() == [paper.pk]
        cards_generate([paper.pk])  # the fake LLM answers a valid card this time

    card.refresh_from_db()
    assert card.status == Card.Status.DONE and card.attempts == 2
    assert card.en["tldr"].startswith("The paper behind")


def test_a_tldr_in_the_wrong_language_fails_the_card(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    english = valid_card()
    english["zh"]["tldr"] = "The paper proposes a sparse attention method for long documents."
    fake_llm.script(card_reply(english), card_reply(english))

    cards_generate([paper.pk])

    card = Card.objects.get(paper=paper)
    assert card.status == Card.Status.FAILED
    assert "zh.tldr is not in Chinese" in card.last_error
    assert card.next_attempt_at is not None and card.next_attempt_at > timezone.now()


def test_the_schema_sent_states_the_limits_the_validator_trims_to(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    cards_generate([paper.pk])

    fmt = fake_llm.card_requests[0].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["properties"]["keywords"]["maxItems"] == KEYWORDS_MAX
    en = schema["properties"]["en"]["properties"]
    assert "at most 400 characters" in en["tldr"]["description"]
    assert (
        "at most 450 characters"
        in schema["properties"]["zh"]["properties"]["method"]["description"]
    )
    # OpenAI's strict mode has no maxLength: the string caps are stated in words only.
    assert "maxLength" not in fake_llm.card_requests[0].raw


def test_json_object_mode_writes_the_limits_into_the_prompts_schema(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    llm_settings.LLM_JSON_MODE = "json_object"

    cards_generate([paper.pk])

    system = fake_llm.card_requests[0].messages[0]["content"]
    assert '"maxLength": 400' in system and f'"maxItems": {KEYWORDS_MAX}' in system
    assert Card.objects.get(paper=paper).status == Card.Status.DONE


def test_a_fine_tuned_model_gets_the_schema_without_max_items(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    llm_settings.LLM_MODEL = "ft:gpt-4o-mini:lab::abc123"

    cards_generate([paper.pk])

    schema = fake_llm.card_requests[0].body["response_format"]["json_schema"]["schema"]
    assert "maxItems" not in schema["properties"]["keywords"]
    assert "at most 10 English keywords" in schema["properties"]["keywords"]["description"]


# --- Only the wrong language fails, not a terse style ----------------------------------------


@pytest.mark.parametrize(
    ("text", "english"),
    [
        pytest.param("SnapMem: snapshot-based 3D scene memory boosts embodied exploration, reasoning.", True, id="headline"),
        pytest.param("Sparse attention; linear memory; long documents.", True, id="fragments"),
        pytest.param("Linear-time $O(n)$ attention matches full attention.", True, id="tex"),
        pytest.param("Trained on the 悟道 corpus, the model beats larger baselines.", True, id="a-chinese-term"),
        pytest.param("Naïve Bayes for α-helix détection", True, id="accents-and-greek"),
        pytest.param("AlphaFold 3", True, id="a-name"),
        pytest.param("本文提出 SparseFormer，在 ImageNet 上提升了准确率。", False, id="chinese-with-terms"),
        pytest.param("本文提出一种稀疏注意力方法。", False, id="chinese"),
        pytest.param("Мы предлагаем новый метод разреженного внимания.", False, id="cyrillic"),
        pytest.param("スパース注意機構を提案する。", False, id="japanese"),
        pytest.param("42% · 3×", False, id="no-words"),
    ],
)  # fmt: skip
def test_english_fields_fail_only_in_another_script(text: str, english: bool) -> None:
    assert is_english(text) is english


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        pytest.param("AlphaFold 3", True, id="name-and-number"),
        pytest.param("GPT-4o", True, id="name"),
        pytest.param("BERT", True, id="acronym"),
        pytest.param("Mamba", True, id="one-word"),
        pytest.param("Attention Is All You Need", False, id="title-case"),
        pytest.param("DNA Repair in Yeast", False, id="acronym-and-words"),
        pytest.param("SnapMem: snapshot-based 3D scene memory", False, id="name-and-words"),
    ],
)  # fmt: skip
def test_a_title_of_names_only_has_nothing_to_translate(title: str, expected: bool) -> None:
    assert name_only(title) is expected


def terse_card(title: str) -> dict[str, object]:
    """A valid card in headline style, as schema-obeying models write them: no "the", "a",
    "of" in the English fields, short Chinese ones, and the title kept when it is a name."""
    return {
        "title_zh": title if name_only(title) else "面向具身探索的快照式三维场景记忆",
        "en": {
            "tldr": f"{title}: snapshot-based 3D scene memory boosts embodied exploration, reasoning.",
            "motivation": "Embodied agents forget scenes; long-horizon tasks suffer.",
            "method": "Snapshot memory; object-centric retrieval; frontier-based exploration.",
            "result": "State-of-the-art success rates on two embodied QA benchmarks.",
            "conclusion": "Compact scene memory: practical default for embodied agents.",
        },
        "zh": {
            "tldr": "快照式三维场景记忆提升具身探索与推理。",
            "motivation": "具身智能体易遗忘场景。",
            "method": "快照记忆与以物体为中心的检索。",
            "result": "两个基准上成功率领先。",
            "conclusion": "简洁有效。",
        },
        "keywords": ["scene memory", "embodied AI"],
    }


def test_with_a_schema_obeying_model_every_paper_of_a_batch_gets_a_card(
    llm_settings: Settings, fake_llm: FakeLLM, arxiv_source: Source, alice: User
) -> None:
    titles = [
        "SnapMem: Snapshot-based 3D Scene Memory for Embodied Exploration and Reasoning",
        "AlphaFold 3",
        "GPT-4o",
        "Sparse attention for long documents",
        "Mamba",
        "Scaling laws for neural language models",
    ]
    papers = [make_paper(arxiv_source, title=title) for title in titles]
    fake_llm.default = lambda captured: card_reply(terse_card(captured.paper["title"]))

    counts = cards_generate([p.pk for p in papers])

    assert counts["done"] == len(papers) and counts["failed"] == counts["pending"] == 0
    assert len(fake_llm.card_requests) == len(papers)  # never a repair
    cards = {c.paper_id: c for c in Card.objects.all()}
    assert {c.status for c in cards.values()} == {Card.Status.DONE}
    assert cards[papers[1].pk].title_zh == "AlphaFold 3"
    assert cards[papers[0].pk].en["result"].startswith("State-of-the-art")


def test_a_chinese_title_is_still_required_when_the_title_has_words_to_translate(
    llm_settings: Settings, fake_llm: FakeLLM, paper: Paper
) -> None:
    untranslated = valid_card()
    untranslated["title_zh"] = paper.title
    fake_llm.script(card_reply(untranslated), card_reply(untranslated))

    cards_generate([paper.pk])

    card = Card.objects.get(paper=paper)
    assert card.status == Card.Status.FAILED
    assert "title_zh is not in Chinese" in card.last_error
