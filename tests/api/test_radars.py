"""The radar endpoints: CRUD, validation, matches, preview and feedback, owner only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from api.tokens import token_create
from feeds.models import Paper
from radar.models import Feedback, Match, Radar, Subscription
from radar.tasks import radar_profile_refresh
from tests.api.conftest import bearer
from tests.factories import PaperFactory, RadarFactory

pytestmark = pytest.mark.django_db

DAY = date(2024, 11, 28)
DEFINITION = {
    "name": "LLM security",
    "description": "Attacks on large language models",
    "include": '"prompt injection" OR jailbreak NOT survey',
    "exclude": ["position paper"],
    "categories": ["cs.CR", "cs.CL"],
    "sources": ["arxiv-cs-cr"],
    "authors": ["Jane Doe"],
    "examples": ["2411.01234"],
    "threshold": 50,
    "public": False,
}


@pytest.fixture
def bob_client(bob: Any) -> Client:
    _, secret = token_create(user=bob, name="bob's script")
    return Client(headers=bearer(secret))


def jailbreak_radar(owner: Any, **fields: Any) -> Radar:
    """A radar on jailbreaks (its owner does not follow it)."""
    return RadarFactory.create(
        owner=owner, **{"name": "Jailbreaks", "include": "jailbreak", **fields}
    )


def errors(response: Any) -> dict[str, list[str]]:
    """The 422 messages by field (the last element of `loc`)."""
    assert response.status_code == 422, response.content
    found: dict[str, list[str]] = {}
    for error in response.json()["detail"]:
        found.setdefault(str(error["loc"][-1]), []).append(error["msg"])
    return found


def stored(radar: Radar) -> dict[str, Any]:
    """The radar's columns as they are in the database now (but its profile vector)."""
    row: dict[str, Any] = dict(Radar.objects.filter(pk=radar.pk).values().get())
    row.pop("profile")
    return row


# --- create, read, update, delete ------------------------------------------------------------


def test_it_creates_a_radar_from_its_json_and_subscribes_the_owner(
    alice: Any, api_client: Client
) -> None:
    response = api_client.post("/api/v1/radars", DEFINITION, content_type="application/json")

    assert response.status_code == 201, response.content
    body = response.json()
    radar = Radar.objects.get(owner=alice)
    assert body == {
        **DEFINITION,
        "id": radar.pk,
        "understood": None,  # no language model here, and the owner wrote none
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert {name: getattr(radar, name) for name in DEFINITION} == DEFINITION
    assert Subscription.objects.filter(user=alice, radar=radar).exists()


def test_a_new_radar_gets_the_defaults_of_fields_left_out(alice: Any, api_client: Client) -> None:
    response = api_client.post(
        "/api/v1/radars",
        {"name": "Diffusion", "description": "diffusion models for images"},
        content_type="application/json",
    )

    assert response.status_code == 201
    radar = Radar.objects.get(owner=alice)
    assert (radar.include, radar.categories, radar.threshold, radar.public) == ("", [], 40, False)
    assert response.json()["threshold"] == 40


def test_it_never_shows_the_feed_token_or_the_profile(alice: Any, api_client: Client) -> None:
    radar = jailbreak_radar(alice, feed_token="s3cret-feed-token", profile=[0.1] * 384)

    listed = api_client.get("/api/v1/radars").content.decode()
    one = api_client.get(f"/api/v1/radars/{radar.pk}").content.decode()

    for body in (listed, one):
        assert "s3cret-feed-token" not in body
        assert "feed_token" not in body and "profile" not in body


def test_it_lists_only_the_token_owners_radars_by_name(
    alice: Any, bob: Any, api_client: Client
) -> None:
    second = jailbreak_radar(alice, name="Robots")
    first = jailbreak_radar(alice, name="Agents")
    jailbreak_radar(bob, name="Bob's own")

    response = api_client.get("/api/v1/radars")

    assert response.status_code == 200
    assert [(r["id"], r["name"]) for r in response.json()["radars"]] == [
        (first.pk, "Agents"),
        (second.pk, "Robots"),
    ]


def test_it_reads_one_radar(alice: Any, api_client: Client) -> None:
    radar = jailbreak_radar(alice, description="jailbreaks", categories=["cs.CL"])

    body = api_client.get(f"/api/v1/radars/{radar.pk}").json()

    assert (body["id"], body["name"], body["include"]) == (radar.pk, "Jailbreaks", "jailbreak")
    assert (body["description"], body["categories"]) == ("jailbreaks", ["cs.CL"])


def test_patch_changes_only_the_fields_it_sends(alice: Any, api_client: Client) -> None:
    radar = jailbreak_radar(alice, description="jailbreaks", categories=["cs.CL"])
    before = stored(radar)

    response = api_client.patch(
        f"/api/v1/radars/{radar.pk}",
        {"threshold": 60, "public": True, "exclude": ["survey", "survey"]},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    after = stored(radar)
    assert (after["threshold"], after["public"], after["exclude"]) == (60, True, ["survey"])
    unchanged = ("name", "description", "include", "categories", "owner_id", "created_at")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert after["updated_at"] > before["updated_at"]
    assert response.json()["threshold"] == 60


def test_patch_refuses_to_leave_a_radar_with_nothing_to_look_for(
    alice: Any, api_client: Client
) -> None:
    radar = jailbreak_radar(alice, description="")
    before = stored(radar)

    response = api_client.patch(
        f"/api/v1/radars/{radar.pk}", {"include": ""}, content_type="application/json"
    )

    # Each field is fine on its own; the radar as it stands conflicts with the change.
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Describe the interest, or give phrases, authors or example papers."
    }
    assert stored(radar) == before


def test_delete_removes_the_radar_with_its_matches(alice: Any, api_client: Client) -> None:
    radar = jailbreak_radar(alice)
    paper = PaperFactory.create()
    Match.objects.create(radar=radar, paper=paper, score=0.7)

    response = api_client.delete(f"/api/v1/radars/{radar.pk}")

    assert response.status_code == 204
    assert not Radar.objects.filter(pk=radar.pk).exists()
    assert not Match.objects.exists()
    assert Paper.objects.filter(pk=paper.pk).exists()


# --- validation ------------------------------------------------------------------------------


def test_it_answers_422_with_a_message_per_field(alice: Any, api_client: Client) -> None:
    response = api_client.post(
        "/api/v1/radars",
        {"name": "", "include": '"prompt injection', "threshold": 99},
        content_type="application/json",
    )
    broken = api_client.post(
        "/api/v1/radars",
        {"name": "Broken", "include": '"prompt injection'},
        content_type="application/json",
    )

    # What the schema states is checked first, each field named; then the query's grammar.
    found = errors(response)
    assert found["name"] == ["String should have at least 1 character"]
    assert found["threshold"] == ["Input should be less than or equal to 95"]
    assert errors(broken)["include"][0].startswith("Include query: ")
    assert not Radar.objects.exists()


def test_a_radar_must_look_for_something(api_client: Client) -> None:
    response = api_client.post(
        "/api/v1/radars",
        {"name": "Empty", "categories": ["cs.CL"]},
        content_type="application/json",
    )

    assert errors(response)["payload"] == [
        "Value error, Describe the interest, or give phrases, authors or example papers."
    ]
    assert not Radar.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "description": "y", "threshold": "high"},
        {"name": "x", "description": "y", "categories": "cs.CL"},
        {"name": "x", "description": "y", "treshold": 0.3},  # a misspelt field is not ignored
        {"name": "x", "description": "y", "public": None},
    ],
)
def test_it_refuses_wrong_types_and_unknown_fields(api_client: Client, body: Any) -> None:
    response = api_client.post("/api/v1/radars", body, content_type="application/json")

    assert response.status_code == 422
    assert not Radar.objects.exists()


def test_an_invalid_patch_changes_nothing(alice: Any, api_client: Client) -> None:
    radar = jailbreak_radar(alice)
    before = stored(radar)

    response = api_client.patch(
        f"/api/v1/radars/{radar.pk}",
        {"name": "New name", "include": "(jailbreak"},
        content_type="application/json",
    )

    assert "include" in errors(response)
    assert stored(radar) == before


# --- isolation, anonymous, session cookies, CSRF ---------------------------------------------


def radar_routes(radar_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("get", f"/api/v1/radars/{radar_id}", None),
        ("patch", f"/api/v1/radars/{radar_id}", {"name": "Taken over"}),
        ("delete", f"/api/v1/radars/{radar_id}", None),
        ("get", f"/api/v1/radars/{radar_id}/matches", None),
        ("post", f"/api/v1/radars/{radar_id}/feedback", {"key": "2411.99999", "value": -1}),
    ]


def send(client: Client, method: str, path: str, body: dict[str, Any] | None) -> Any:
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, content_type="application/json")


def test_another_users_radar_is_404_on_every_route_and_nothing_changes(
    alice: Any, bob: Any, bob_client: Client
) -> None:
    radar = jailbreak_radar(alice, public=True)  # even a public topic is not bob's to change
    paper = PaperFactory.create(key="2411.99999")
    Match.objects.create(radar=radar, paper=paper, score=0.9, reasons=[["title", "jailbreak"]])
    before = stored(radar)

    for method, path, body in radar_routes(radar.pk):
        response = send(bob_client, method, path, body)
        assert response.status_code == 404, (method, path)
        assert "jailbreak" not in response.content.decode()

    assert stored(radar) == before
    assert Match.objects.filter(radar=radar).count() == 1
    assert not Feedback.objects.exists()


def test_a_radar_id_that_does_not_exist_is_404(api_client: Client) -> None:
    for method, path, body in radar_routes(999_999):
        assert send(api_client, method, path, body).status_code == 404, (method, path)


def test_without_a_token_every_route_is_401(alice: Any) -> None:
    radar = jailbreak_radar(alice)
    routes = [
        *radar_routes(radar.pk),
        ("get", "/api/v1/radars", None),
        ("post", "/api/v1/radars", DEFINITION),
        ("post", "/api/v1/radars/preview", {"include": "jailbreak"}),
    ]

    for method, path, body in routes:
        assert send(Client(), method, path, body).status_code == 401, (method, path)

    assert Radar.objects.count() == 1
    assert stored(radar)["name"] == "Jailbreaks"


def test_a_signed_in_browser_session_is_not_an_api_credential(alice: Any) -> None:
    radar = jailbreak_radar(alice)
    browser = Client()
    browser.force_login(alice)

    created = send(browser, "post", "/api/v1/radars", DEFINITION)
    patched = send(browser, "patch", f"/api/v1/radars/{radar.pk}", {"name": "Renamed"})
    deleted = send(browser, "delete", f"/api/v1/radars/{radar.pk}", None)

    assert (created.status_code, patched.status_code, deleted.status_code) == (401, 401, 401)
    assert list(Radar.objects.values_list("name", flat=True)) == ["Jailbreaks"]


def test_token_writes_need_no_csrf_token(alice: Any, alice_secret: str) -> None:
    strict = Client(enforce_csrf_checks=True, headers=bearer(alice_secret))

    response = send(strict, "post", "/api/v1/radars", DEFINITION)

    assert response.status_code == 201
    assert Radar.objects.filter(owner=alice, name="LLM security").exists()


# --- matches ---------------------------------------------------------------------------------


def test_matches_carry_score_reasons_and_my_rating_newest_day_first(
    alice: Any, api_client: Client
) -> None:
    radar = jailbreak_radar(alice)
    older = PaperFactory.create(title="Jailbreaks, older", announced=DAY - timedelta(days=1))
    best = PaperFactory.create(title="Jailbreak attacks", announced=DAY)
    weaker = PaperFactory.create(title="Safer chat", announced=DAY)
    Match.objects.create(radar=radar, paper=older, score=1.2, reasons=[["title", "jailbreak"]])
    Match.objects.create(
        radar=radar,
        paper=best,
        score=0.9,
        reasons=[["title", "jailbreak"], ["author", "Jane Doe"], ["similar", 0.8412]],
    )
    Match.objects.create(radar=radar, paper=weaker, score=0.6, reasons=[["abstract", "jailbreak"]])
    Feedback.objects.create(user=alice, radar=radar, paper=best, value=1)
    Feedback.objects.create(user=alice, radar=radar, paper=weaker, value=-1)

    response = api_client.get(f"/api/v1/radars/{radar.pk}/matches")

    assert response.status_code == 200
    body = response.json()
    assert (body["count_on_page"], body["page"], body["next_page"]) == (3, 1, None)
    assert body["matches"] == [
        {
            "key": best.key,
            "title": "Jailbreak attacks",
            "announced": "2024-11-28",
            "score": 0.9,
            "reasons": [
                "title contains 'jailbreak'",
                "follows author Jane Doe",
                "close to your description (0.84)",
            ],
            "feedback": 1,
        },
        {
            "key": weaker.key,
            "title": "Safer chat",
            "announced": "2024-11-28",
            "score": 0.6,
            "reasons": ["abstract contains 'jailbreak'"],
            "feedback": -1,
        },
        {
            "key": older.key,
            "title": "Jailbreaks, older",
            "announced": "2024-11-27",
            "score": 1.2,
            "reasons": ["title contains 'jailbreak'"],
            "feedback": None,
        },
    ]


def test_only_the_owners_ratings_show_on_matches(alice: Any, bob: Any, api_client: Client) -> None:
    radar = jailbreak_radar(alice, public=True)
    paper = PaperFactory.create()
    Match.objects.create(radar=radar, paper=paper, score=0.7)
    Feedback.objects.create(user=bob, radar=radar, paper=paper, value=-1)

    match = api_client.get(f"/api/v1/radars/{radar.pk}/matches").json()["matches"][0]

    assert match["feedback"] is None


def test_matches_page_by_fifty_in_a_fixed_number_of_queries(alice: Any, api_client: Client) -> None:
    radar = jailbreak_radar(alice)
    papers = PaperFactory.create_batch(55, announced=DAY)
    for rank, paper in enumerate(papers):
        Match.objects.create(radar=radar, paper=paper, score=1.0 - rank / 100)
    url = f"/api/v1/radars/{radar.pk}/matches"

    with CaptureQueriesContext(connection) as queries:
        first = api_client.get(url).json()
    second = api_client.get(url, {"page": 2}).json()

    assert (first["count_on_page"], first["next_page"]) == (50, 2)
    assert (second["count_on_page"], second["next_page"]) == (5, None)
    assert [m["key"] for m in first["matches"] + second["matches"]] == [p.key for p in papers]
    # token, touch of last_used_at, radar, one page of matches: not one query per match.
    assert len(queries) <= 5, [q["sql"] for q in queries.captured_queries]
    assert api_client.get(url, {"page": 0}).status_code == 422


# --- preview ---------------------------------------------------------------------------------


def test_preview_returns_the_best_matches_with_reasons_and_stores_nothing(
    alice: Any, api_client: Client
) -> None:
    in_title = PaperFactory.create(title="Prompt injection in LLM agents", abstract="Tools.")
    in_abstract = PaperFactory.create(
        title="Securing agents", abstract="We study prompt injection through tool outputs."
    )
    PaperFactory.create(title="Protein folding", abstract="Structures from sequence.")
    excluded = PaperFactory.create(title="Prompt injection: a survey", abstract="")

    response = api_client.post(
        "/api/v1/radars/preview",
        {"include": '"prompt injection"', "exclude": ["survey"], "threshold": 25},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    matches = response.json()["matches"]
    assert [(m["key"], m["score"], m["reasons"]) for m in matches] == [
        (in_title.key, 40, ["title contains 'prompt injection': +40"]),
        (in_abstract.key, 25, ["abstract contains 'prompt injection': +25"]),
    ]
    assert matches[0]["title"] == "Prompt injection in LLM agents"
    assert excluded.key not in {m["key"] for m in matches}
    assert response.json()["total"] == 2  # caught in all, here all shown
    assert not Radar.objects.exists() and not Match.objects.exists()


def test_preview_looks_at_the_last_days_asked_for_or_all_with_zero(api_client: Client) -> None:
    recent = PaperFactory.create(title="Jailbreak attacks", announced=DAY)
    old = PaperFactory.create(title="Jailbreak defences", announced=DAY - timedelta(days=30))
    definition = {"include": "jailbreak"}

    def keys(**extra: Any) -> set[str]:
        response = api_client.post(
            "/api/v1/radars/preview", {**definition, **extra}, content_type="application/json"
        )
        assert response.status_code == 200, response.content
        return {m["key"] for m in response.json()["matches"]}

    # The default week counts days that have papers: the two days are both in it.
    assert keys() == {recent.key, old.key}
    many = [PaperFactory.create(title=f"Jailbreak study {n}", announced=DAY) for n in range(25)]
    found = api_client.post("/api/v1/radars/preview", definition, content_type="application/json")
    # 20 best shown of the 27 caught: the total says how many the radar would catch.
    assert (len(found.json()["matches"]), found.json()["total"]) == (20, 2 + len(many))
    Paper.objects.filter(pk__in=[p.pk for p in many]).delete()
    assert keys(days=1) == {recent.key}
    assert keys(days=0) == {recent.key, old.key}


def test_preview_refuses_an_empty_or_broken_definition(api_client: Client) -> None:
    empty = api_client.post("/api/v1/radars/preview", {}, content_type="application/json")
    broken = api_client.post(
        "/api/v1/radars/preview", {"include": "a AND"}, content_type="application/json"
    )
    negative = api_client.post(
        "/api/v1/radars/preview", {"include": "a", "days": -1}, content_type="application/json"
    )

    assert "payload" in errors(empty)
    assert "include" in errors(broken)
    assert "days" in errors(negative)


# --- feedback --------------------------------------------------------------------------------


def test_feedback_is_stored_changed_and_cleared(
    alice: Any, api_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    radar = jailbreak_radar(alice)
    paper = PaperFactory.create(title="Jailbreak attacks on chat models")
    url = f"/api/v1/radars/{radar.pk}/feedback"

    def rate(value: int) -> Any:
        return api_client.post(url, {"key": paper.key, "value": value}, "application/json")

    with django_capture_on_commit_callbacks() as refreshes:
        up = rate(1)
    assert (up.status_code, up.json()) == (200, {"key": paper.key, "value": 1})
    assert list(Feedback.objects.values_list("user", "radar", "paper", "value")) == [
        (alice.pk, radar.pk, paper.pk, 1)
    ]
    # The owner's 👍 queued a refresh that moves the radar's profile onto the rated paper.
    assert len(refreshes) == 1
    radar_profile_refresh(radar.pk)  # what the worker runs
    radar.refresh_from_db()
    assert radar.profile is not None

    assert rate(-1).status_code == 200
    assert Feedback.objects.get().value == -1

    assert rate(0).json() == {"key": paper.key, "value": 0}
    assert not Feedback.objects.exists()


def test_feedback_on_an_unknown_paper_is_409_and_a_bad_value_422(
    alice: Any, api_client: Client
) -> None:
    radar = jailbreak_radar(alice)
    paper = PaperFactory.create()
    url = f"/api/v1/radars/{radar.pk}/feedback"

    unknown = api_client.post(url, {"key": "2411.00000x", "value": 1}, "application/json")
    too_much = api_client.post(url, {"key": paper.key, "value": 2}, "application/json")

    # 404 would say the radar is gone; it is the paper key that names nothing.
    assert unknown.status_code == 409
    assert unknown.json() == {"detail": "No paper has this key."}
    assert "value" in errors(too_much)
    assert not Feedback.objects.exists()


# --- docs ------------------------------------------------------------------------------------


def test_the_schema_documents_every_radar_and_topic_route() -> None:
    schema = Client().get("/api/v1/openapi.json").json()

    routes = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert {
        ("/api/v1/radars", "get"),
        ("/api/v1/radars", "post"),
        ("/api/v1/radars/{radar_id}", "get"),
        ("/api/v1/radars/{radar_id}", "patch"),
        ("/api/v1/radars/{radar_id}", "delete"),
        ("/api/v1/radars/{radar_id}/matches", "get"),
        ("/api/v1/radars/preview", "post"),
        ("/api/v1/radars/{radar_id}/feedback", "post"),
        ("/api/v1/topics", "get"),
        ("/api/v1/topics/{topic_id}/subscribe", "post"),
        ("/api/v1/topics/{topic_id}/subscribe", "delete"),
    } <= routes
    radar = schema["components"]["schemas"]["RadarOut"]["properties"]
    assert set(radar) == {*DEFINITION, "id", "understood", "created_at", "updated_at"}
