"""The operators' admin: every model of our apps listed, searchable and editable by staff,
refused to everyone else, and the staff actions doing what they say (through the apps'
services), in English and in Chinese."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Profile, SuppressedAddress
from api.models import ApiToken
from digests.models import Briefing, Card, Delivery, LLMCall
from feeds.models import Paper, PaperSighting, Source
from radar.models import Feedback, Match, PaperEmbedding, Radar, SavedPaper, SeenPaper, Subscription
from radar.services import MAX_RADARS_PER_USER
from tests.factories import (
    UserFactory,
    arxiv_paper,
    arxiv_source,
    card_for,
    make_radar,
    matched,
    person,
    signed_in,
)
from tests.pages import text_of

pytestmark = pytest.mark.django_db

OUR_APPS = ("feeds", "radar", "digests", "accounts", "api")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def staff() -> Client:
    """A client signed in as a superuser (staff with every permission)."""
    user = UserFactory.create(name="operator", is_staff=True, is_superuser=True)
    return signed_in(user)


@pytest.fixture
def rows() -> dict[str, Model]:
    """One row of every model of our apps, linked as the site links them."""
    now = timezone.now()
    reader = person("reader", card_language="zh")
    source = arxiv_source(label="arXiv cs.CL")
    paper = arxiv_paper(source, title="Sparse attention for long documents")
    radar = make_radar(reader, name="Prompt injection")
    matched(radar, [paper], at=now - timedelta(hours=2))
    card = card_for(paper, status="failed", last_error="timeout", attempts=3)
    briefing = Briefing.objects.create(
        radar=radar, cadence="day", period_start=now.date(), language="zh",
        window_start=now - timedelta(days=1), window_end=now, status="done",
        paper_ids=[paper.pk], match_count=1, content={"headline": "稀疏注意力"},
    )  # fmt: skip
    delivery = Delivery.objects.create(
        user=reader, cadence="day", period_start=now.date(), language="zh",
        briefing_ids=[briefing.pk], state=Delivery.State.SENDING, flagged=True,
        message_id="<briefing.1@academichub.example>", sending_since=now - timedelta(hours=1),
        last_error="connection lost after the message was sent",
    )  # fmt: skip
    return {
        "source": source,
        "paper": paper,
        "sighting": PaperSighting.objects.get(paper=paper),
        "radar": radar,
        "match": Match.objects.get(radar=radar, paper=paper),
        "subscription": Subscription.objects.get(user=reader, radar=radar),
        "feedback": Feedback.objects.create(user=reader, radar=radar, paper=paper, value=1),
        "saved": SavedPaper.objects.create(user=reader, paper=paper),
        "seen": SeenPaper.objects.create(user=reader, paper=paper),
        "embedding": PaperEmbedding.objects.create(
            paper=paper, vector=[0.1] * 384, model="hash-embedder"
        ),
        "card": card,
        "llmcall": LLMCall.objects.create(
            purpose="card", subject=f"paper:{paper.pk}", model="m", outcome="timeout"
        ),
        "briefing": briefing,
        "delivery": delivery,
        "profile": Profile.objects.get(user=reader),
        "suppressed": SuppressedAddress.objects.create(
            email="gone@example.org", reason="bounced", detail="550 no such user"
        ),
        "token": ApiToken.objects.create(
            user=reader, name="laptop", digest="d" * 64, prefix="ah_1234"
        ),
    }


def our_models() -> list[type[Model]]:
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def url(model: type[Model] | Model, view: str, *args: Any) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def test_every_model_of_our_apps_is_registered() -> None:
    missing = [m.__name__ for m in our_models() if not admin.site.is_registered(m)]
    assert missing == []
    assert len(our_models()) >= 17


def test_staff_see_every_changelist_and_change_page_with_its_row(
    staff: Client, rows: dict[str, Model]
) -> None:
    by_model = {type(row): row for row in rows.values()}
    assert set(by_model) == set(our_models())
    for model, row in by_model.items():
        listing = staff.get(url(model, "changelist"))
        assert listing.status_code == 200, model
        assert url(model, "change", row.pk) in listing.content.decode(), model
        page = staff.get(url(model, "change", row.pk))
        assert page.status_code == 200, model


def test_big_tables_never_count_everything_nor_render_a_select_of_papers(
    staff: Client, rows: dict[str, Model]
) -> None:
    for model in (Paper, PaperSighting, Match, Card, SeenPaper, PaperEmbedding, Delivery):
        assert admin.site.get_model_admin(model).show_full_result_count is False, model
    for key in ("match", "card", "saved", "feedback", "sighting"):
        page = staff.get(url(type(rows[key]), "change", rows[key].pk)).content.decode()
        # The paper is a raw id (a text box), never <select name="paper"> of every paper.
        assert '<select name="paper"' not in page, key


@pytest.mark.parametrize(
    ("model", "term", "found"),
    [
        (Source, "cs.CL", "source"),
        (Paper, "Sparse attention", "paper"),
        (Radar, "Prompt injection", "radar"),
        (Subscription, "reader-", "subscription"),
        (Card, "timeout", "card"),
        (Delivery, "reader-", "delivery"),
        (SuppressedAddress, "gone@", "suppressed"),
        (ApiToken, "laptop", "token"),
    ],
)
def test_searches_find_the_row_and_leave_out_others(
    staff: Client,
    rows: dict[str, Model],
    model: type[Model],
    term: str,
    found: str,
) -> None:
    hit = staff.get(url(model, "changelist"), {"q": term}).content.decode()
    assert url(model, "change", rows[found].pk) in hit
    miss = staff.get(url(model, "changelist"), {"q": "nothing-like-this"}).content.decode()
    assert url(model, "change", rows[found].pk) not in miss


def test_a_reader_and_a_visitor_are_refused(rows: dict[str, Model]) -> None:
    reader = signed_in(UserFactory.create(name="plain"))
    for client in (reader, Client()):
        for model in (Source, Delivery, Radar, ApiToken):
            response = client.get(url(model, "changelist"))
            # The admin sends anyone who is not staff to its login page.
            assert response.status_code == 302
            assert reverse("admin:login") in response["Location"]
        response = client.post(
            url(Source, "changelist"),
            {"action": "pause", "_selected_action": [rows["source"].pk]},
        )
        assert response.status_code == 302
    assert Source.objects.get(pk=rows["source"].pk).enabled is True


def act(client: Client, row: Model, action: str, **extra: str) -> Any:
    return client.post(
        url(type(row), "changelist"),
        {"action": action, "_selected_action": [row.pk], **extra},
        follow=True,
    )


def queued(broker: redis.Redis, queue: str) -> list[tuple[str, Any]]:
    """(task name, args) of the messages waiting in a Celery queue on the real broker."""
    messages = [json.loads(raw) for raw in broker.lrange(queue, 0, -1)]
    return [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages]


def test_pause_resume_and_reset_a_source(staff: Client, rows: dict[str, Model]) -> None:
    source = rows["source"]
    assert isinstance(source, Source)
    response = act(staff, source, "pause")
    assert "1 sources paused." in response.content.decode()
    assert Source.objects.get(pk=source.pk).enabled is False

    Source.objects.filter(pk=source.pk).update(
        error_count=settings.SOURCE_ERROR_LIMIT, last_error="HTTP 503", last_error_kind="http_5xx",
        next_check_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    act(staff, source, "resume")
    source.refresh_from_db()
    assert (source.enabled, source.error_count, source.last_error) == (True, 0, "")
    assert source.next_check_at <= timezone.now()

    Source.objects.filter(pk=source.pk).update(error_count=settings.SOURCE_ERROR_LIMIT)
    response = act(staff, source, "reset_and_check_now")
    assert "Sources unpaused." in response.content.decode()
    assert Source.objects.get(pk=source.pk).paused is False


def test_retry_a_failed_card_queues_it_on_the_broker(
    staff: Client,
    rows: dict[str, Model],
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    card = rows["card"]
    with django_capture_on_commit_callbacks(execute=True):
        response = act(staff, card, "retry_now")
    assert "1 cards queued again." in response.content.decode()
    card.refresh_from_db()
    assert isinstance(card, Card)
    assert (card.status, card.attempts) == (Card.Status.PENDING, 0)
    tasks = queued(redis_client, "llm")
    assert ("digests.tasks.cards_generate", f"([{rows['paper'].pk}],)") in tasks


def test_rescore_a_radar_queues_it_on_the_broker(
    staff: Client,
    rows: dict[str, Model],
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = act(staff, rows["radar"], "rescore")
    assert "1 radars queued for rescoring." in response.content.decode()
    assert ("radar.tasks.radar_rescore", f"({rows['radar'].pk},)") in queued(redis_client, "match")


def test_sending_a_flagged_email_again_asks_first_and_says_it_may_double_send(
    staff: Client, rows: dict[str, Model]
) -> None:
    delivery = rows["delivery"]
    assert isinstance(delivery, Delivery)
    asked = act(staff, delivery, "send_again")
    page = asked.content.decode()
    assert "They may already be in the reader" in page
    assert delivery.message_id.strip("<>") in page
    # Nothing changed until staff confirm.
    assert Delivery.objects.get(pk=delivery.pk).state == Delivery.State.SENDING

    done = act(staff, delivery, "send_again", confirm="yes")
    assert "1 emails will be sent at the next dispatch" in done.content.decode()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.flagged, delivery.attempts) == ("pending", False, 0)


def test_a_failed_email_is_sent_again_without_asking(staff: Client, rows: dict[str, Model]) -> None:
    delivery = rows["delivery"]
    Delivery.objects.filter(pk=delivery.pk).update(state="failed", flagged=False, attempts=8)
    response = act(staff, delivery, "send_again")
    assert "1 emails will be sent at the next dispatch" in response.content.decode()
    assert Delivery.objects.get(pk=delivery.pk).state == Delivery.State.PENDING


def test_a_sent_email_is_never_queued_again(staff: Client, rows: dict[str, Model]) -> None:
    delivery = rows["delivery"]
    Delivery.objects.filter(pk=delivery.pk).update(state="sent", flagged=False)
    response = act(staff, delivery, "send_again")
    assert "0 emails will be sent" in response.content.decode()
    assert Delivery.objects.get(pk=delivery.pk).state == Delivery.State.SENT


def test_mark_a_flagged_email_as_sent(staff: Client, rows: dict[str, Model]) -> None:
    delivery = rows["delivery"]
    response = act(staff, delivery, "mark_sent")
    assert "1 flagged emails marked as sent." in response.content.decode()
    delivery.refresh_from_db()
    assert isinstance(delivery, Delivery)
    assert (delivery.state, delivery.flagged) == (Delivery.State.SENT, False)
    assert delivery.sent_at is not None


def test_actions_and_messages_read_in_chinese(staff: Client, rows: dict[str, Model]) -> None:
    staff.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    listing = staff.get(url(Delivery, "changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = listing.content.decode()
    assert "再次发送" in page
    assert "Send again" not in page
    sources = staff.get(url(Source, "changelist")).content.decode()
    assert "暂停" in sources
    asked = act(staff, rows["delivery"], "send_again").content.decode()
    assert "可能已经" in asked


def test_a_stale_copy_never_resends_a_row_sending_right_now(
    staff: Client, rows: dict[str, Model]
) -> None:
    # A row being sent this moment is not flagged yet: "send again" leaves it alone.
    Delivery.objects.filter(pk=rows["delivery"].pk).update(
        flagged=False, sending_since=datetime.now(UTC)
    )
    act(staff, rows["delivery"], "send_again", confirm="yes")
    assert Delivery.objects.get(pk=rows["delivery"].pk).state == Delivery.State.SENDING


STAFF_ACTIONS = {
    "source": ["reset_and_check_now", "pause", "resume"],
    "card": ["retry_now"],
    "delivery": ["send_again", "mark_sent"],
    "radar": ["rescore"],
}


def staff_who_may(perm: str, rows: dict[str, Model]) -> Client:
    """A client signed in as staff (not superuser) with `perm` ("view", "change") on the
    models that have staff actions."""
    user = UserFactory.create(name=f"{perm}-staff", is_staff=True)
    codenames = [f"{perm}_{type(rows[key])._meta.model_name}" for key in STAFF_ACTIONS]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return signed_in(user)


def test_staff_who_may_only_view_neither_see_nor_run_the_actions(
    rows: dict[str, Model],
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    viewer = staff_who_may("view", rows)
    before = {
        key: type(rows[key])._default_manager.values().get(pk=rows[key].pk) for key in STAFF_ACTIONS
    }
    for key, names in STAFF_ACTIONS.items():
        listing = viewer.get(url(type(rows[key]), "changelist"))
        assert listing.status_code == 200, key
        for name in names:
            assert f'value="{name}"' not in listing.content.decode(), name
            with django_capture_on_commit_callbacks(execute=True):
                response = act(viewer, rows[key], name, confirm="yes")
            assert "queued" not in response.content.decode(), name
    after = {
        key: type(rows[key])._default_manager.values().get(pk=rows[key].pk) for key in STAFF_ACTIONS
    }
    assert after == before
    assert queued(redis_client, "match") == queued(redis_client, "llm") == []


def test_staff_who_may_change_see_and_run_the_actions(
    rows: dict[str, Model],
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    editor = staff_who_may("change", rows)
    for key, names in STAFF_ACTIONS.items():
        listing = editor.get(url(type(rows[key]), "changelist")).content.decode()
        for name in names:
            assert f'value="{name}"' in listing, name
    assert "1 sources paused." in act(editor, rows["source"], "pause").content.decode()
    assert Source.objects.get(pk=rows["source"].pk).enabled is False
    act(editor, rows["delivery"], "mark_sent")
    assert Delivery.objects.get(pk=rows["delivery"].pk).state == Delivery.State.SENT
    with django_capture_on_commit_callbacks(execute=True):
        act(editor, rows["card"], "retry_now")
        act(editor, rows["radar"], "rescore")
    assert Card.objects.get(pk=rows["card"].pk).status == Card.Status.PENDING
    assert ("radar.tasks.radar_rescore", f"({rows['radar'].pk},)") in queued(redis_client, "match")


def test_editing_a_radars_description_in_the_admin_rescores_it_and_asks_for_its_profile(
    staff: Client,
    rows: dict[str, Model],
    settings: Any,
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"  # configured; only enqueued, never called
    radar = rows["radar"]
    assert isinstance(radar, Radar)
    Radar.objects.filter(pk=radar.pk).update(profile_updated_at=timezone.now())
    form = {
        "owner": radar.owner_id, "name": radar.name, "description": "Jailbreaks of chat models",
        "include": radar.include, "threshold": radar.threshold, "active": "on",
        **{name: ",".join(getattr(radar, name)) for name in (
            "exclude", "categories", "sources", "authors", "examples"
        )},
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url(Radar, "change", radar.pk), form)
    assert response.status_code == 302
    radar.refresh_from_db()
    assert radar.description == "Jailbreaks of chat models"
    # Through radar_update: the stale profile dropped, the window rescored, the English
    # profile of the new description asked for.
    assert radar.profile_updated_at is None
    assert ("radar.tasks.radar_rescore", f"({radar.pk},)") in queued(redis_client, "match")
    assert ("digests.tasks.radar_understand", f"({radar.pk},)") in queued(redis_client, "llm")


def test_a_radar_added_in_the_admin_is_followed_by_its_owner_and_scored(
    staff: Client,
    rows: dict[str, Model],
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    owner = rows["radar"].owner  # type: ignore[attr-defined]
    form = {
        "owner": owner.pk, "name": "Speculative decoding", "description": "", "include": "",
        "threshold": 50, "active": "on", "exclude": "", "categories": "", "sources": "",
        "authors": "", "examples": "",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url(Radar, "add"), form)
    assert response.status_code == 302
    radar = Radar.objects.get(name="Speculative decoding")
    assert Subscription.objects.filter(user=owner, radar=radar).exists()
    assert ("radar.tasks.radar_rescore", f"({radar.pk},)") in queued(redis_client, "match")


def test_the_admin_names_our_models_and_their_columns_in_the_staff_members_language(
    staff: Client, rows: dict[str, Model]
) -> None:
    english = text_of(staff.get(reverse("admin:index")).content.decode())
    for name in (
        "Feeds", "Summary cards", "Paper sightings", "LLM calls", "API tokens", "Matches",
        "Paper embeddings",
    ):  # fmt: skip
        assert name in english
    assert "Matchs" not in english and "Feedbacks" not in english

    # A Chinese staff member: their profile's language (which wins over the cookie).
    Profile.objects.filter(user__is_superuser=True).update(language="zh-hans")
    index = text_of(staff.get(reverse("admin:index")).content.decode())
    for model in our_models():
        with translation.override("zh-hans"):
            plural = str(model._meta.verbose_name_plural)
            app = str(apps.get_app_config(model._meta.app_label).verbose_name)
        assert CJK.search(plural), model
        assert plural in index and app in index, model
    for name in (
        "订阅源",
        "论文收录记录",
        "摘要卡片",
        "LLM 调用",
        "简报投递",
        "个人设置",
        "API 令牌",
        "匹配",
        "反馈",
        "收藏的论文",
        "看过的论文",
        "论文嵌入向量",
    ):
        assert name in index
    # A briefing's "matches" column is a count (匹配数); the model of that name is not.
    assert "匹配数" not in index
    assert "Summary cards" not in index and "Paper sightings" not in index
    # The list columns too.
    sources = text_of(staff.get(url(Source, "changelist")).content.decode())
    assert "连续错误次数" in sources and "下次检查" in sources
    assert "Error count" not in sources and "Next check at" not in sources
    cards = text_of(staff.get(url(Card, "changelist")).content.decode())
    assert "提示词版本" in cards and "Prompt version" not in cards
    radars = text_of(staff.get(url(Radar, "changelist")).content.decode())
    for column in ("所有者", "公开", "已启用", "最低分数", "创建时间", "更新时间"):
        assert column in radars, column
    assert "Owner" not in radars and "Threshold" not in radars
    matches = text_of(staff.get(url(Match, "changelist")).content.decode())
    assert "得分" in matches and "公布日期" in matches and "Score" not in matches
    seen = text_of(staff.get(url(SeenPaper, "changelist")).content.decode())
    assert "查看时间" in seen and "Seen at" not in seen


def radar_form(owner: Any, name: str) -> dict[str, Any]:
    """The admin's radar form as staff fill it in for `owner`."""
    return {
        "owner": owner.pk, "name": name, "description": "", "include": "", "threshold": 50,
        "active": "on", "exclude": "", "categories": "", "sources": "", "authors": "",
        "examples": "",
    }  # fmt: skip


def test_a_radar_beyond_the_owners_limit_is_a_form_error_not_a_server_error(
    staff: Client, rows: dict[str, Model]
) -> None:
    owner = rows["radar"].owner  # type: ignore[attr-defined]
    Radar.objects.bulk_create(
        Radar(owner=owner, name=f"Radar {i}", include="x")
        for i in range(MAX_RADARS_PER_USER - Radar.objects.filter(owner=owner).count())
    )
    response = staff.post(url(Radar, "add"), radar_form(owner, "One too many"))
    assert response.status_code == 200
    text = text_of(response.content.decode())
    assert "This user has 50 radars, the most an account can keep." in text
    assert not Radar.objects.filter(name="One too many").exists()
    assert Radar.objects.filter(owner=owner).count() == MAX_RADARS_PER_USER

    # Nor can a radar be moved to them; their own radars are still edited as before.
    other = make_radar(person("other"), name="Someone else's")
    moved = staff.post(url(Radar, "change", other.pk), radar_form(owner, "Someone else's"))
    assert moved.status_code == 200
    assert Radar.objects.get(pk=other.pk).owner_id != owner.pk
    radar = rows["radar"]
    edited = staff.post(url(Radar, "change", radar.pk), radar_form(owner, "Renamed"))
    assert edited.status_code == 302
    assert Radar.objects.get(pk=radar.pk).name == "Renamed"

    # In Chinese for a Chinese staff member.
    Profile.objects.filter(user__is_superuser=True).update(language="zh-hans")
    response = staff.post(url(Radar, "add"), radar_form(owner, "One too many"))
    assert "该用户已有 50 个雷达" in text_of(response.content.decode())
    assert not Radar.objects.filter(name="One too many").exists()
