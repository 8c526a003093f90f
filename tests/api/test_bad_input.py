"""Bad input at the API's and the pages' edges is a 4xx (JSON on the API), never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.services import profile_for, profile_update
from radar.models import Radar
from tests.factories import PaperFactory, make_radar, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db

RADAR = {"name": "Agents", "description": "LLM agents that use tools"}
# What the radar page's form posts.
FORM = {"name": "Agents", "description": "LLM agents that use tools", "threshold": "30"}


def _error_fields(response: Any) -> set[str]:
    """Every name in the errors' locations (a list item's ends with its index)."""
    return {str(part) for error in response.json()["detail"] for part in error["loc"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Nul\x00name"),
        ("description", "bell\x07"),
        ("include", '"a\x00b"'),
        ("exclude", ["ok", "x\x00"]),
        ("categories", ["cs.CL\x00"]),
        ("sources", ["\x1f"]),
        ("authors", ["Ada\x00Lovelace"]),
        ("examples", ["2411.\x0000001"]),
    ],
)
def test_an_unstorable_character_in_any_radar_field_is_a_422_naming_it(
    api_client: Client, field: str, value: Any
) -> None:
    for url in ("/api/v1/radars", "/api/v1/radars/preview"):
        response = api_client.post(url, {**RADAR, field: value}, "application/json")
        assert response.status_code == 422, (url, response.content)
        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert field in _error_fields(response)
    assert not Radar.objects.exists()


def test_the_schema_states_the_rules_the_api_enforces(client: Client) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    radar = schemas["RadarIn"]["properties"]
    assert (radar["threshold"]["minimum"], radar["threshold"]["maximum"]) == (5.0, 95.0)
    assert (radar["name"]["minLength"], radar["name"]["maxLength"]) == (1, 120)
    assert "name" in schemas["RadarIn"]["required"]
    assert radar["authors"]["maxItems"] == 50
    assert radar["authors"]["items"]["maxLength"] == 200
    assert radar["categories"]["items"]["maxLength"] == 80
    # One of the four must say what to look for.
    assert len(schemas["RadarIn"]["anyOf"]) == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**RADAR, "threshold": 99}, "threshold"),
        ({**RADAR, "name": "   "}, "name"),
        ({**RADAR, "name": "x" * 121}, "name"),
        ({**RADAR, "authors": ["a"] * 51}, "authors"),
        ({**RADAR, "public": 0}, "public"),
        ({"name": "Nothing to look for", "authors": [" "]}, "payload"),
    ],
)
def test_what_the_schema_refuses_is_a_422(api_client: Client, body: Any, field: str) -> None:
    response = api_client.post("/api/v1/radars", body, "application/json")
    assert response.status_code == 422
    assert field in _error_fields(response)


def test_nul_in_queries_and_paths_is_a_json_4xx(api_client: Client) -> None:
    PaperFactory.create(key="2411.00001")
    for url in (
        "/api/v1/topics?q=%00",
        "/api/v1/papers?q=%00",
        "/api/v1/papers?category=%00",
        "/api/v1/papers/%00",
        "/api/v1/papers/2411.%0000001",
    ):
        response = api_client.get(url)
        assert response.status_code == 422, url
        assert response["Content-Type"] == "application/json; charset=utf-8", url


@pytest.mark.parametrize("method", ["get", "patch", "delete", "post"])
def test_a_path_the_api_does_not_have_is_a_json_404(api_client: Client, method: str) -> None:
    for url in (
        "/api/v1/radars/abc",
        "/api/v1/nowhere",
        "/api/v1/radars/abc/feedback",
        "/api/v1/papers/a%0Ab",  # a newline in the path (schemathesis found the HTML 404)
        "/api/v1/papers/%0A",
    ):
        response = getattr(api_client, method)(url)
        assert response.status_code == 404, (method, url)
        assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("debug", [False, True])
def test_the_api_root_and_paths_beside_it_are_a_json_404(
    api_client: Client, settings: Any, debug: bool
) -> None:
    """ninja's root view raises Django's HTML 404 (a debug page with DEBUG on); never on the API."""
    settings.DEBUG = debug
    for url in ("/api/v1/", "/api/v1", "/api/", "/api", "/api/v2/papers", "/api/nowhere"):
        for method in ("get", "post"):
            response = getattr(api_client, method)(url)
            assert response.status_code == 404, (method, url)
            assert response["Content-Type"] == "application/json", (method, url)
            assert response.json() == {"detail": "Not Found"}, (method, url)


def test_a_method_the_api_does_not_have_is_a_json_405(api_client: Client) -> None:
    response = api_client.put("/api/v1/papers")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json() == {"detail": "Method not allowed."}


def test_a_body_that_is_not_json_is_a_json_400(api_client: Client) -> None:
    response = api_client.post("/api/v1/radars", b"\x00", "application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_a_patch_that_leaves_nothing_to_look_for_is_a_409(api_client: Client, alice: Any) -> None:
    radar = make_radar(alice, include='"prompt injection"', description="")
    response = api_client.patch(f"/api/v1/radars/{radar.pk}", {"include": ""}, "application/json")
    assert response.status_code == 409
    radar.refresh_from_db()
    assert radar.include == '"prompt injection"'


@pytest.mark.parametrize(
    "url", ["/papers/%00/", "/papers/%00.bib", "/papers/%00.ris", "/papers/a%01b/"]
)
def test_a_paper_page_with_an_unstorable_key_is_a_404(client: Client, url: str) -> None:
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("token", ["%00", "a%00b", "%01", "x" * 65, "%EF%BF%BF"])
def test_an_atom_feed_token_that_cannot_be_stored_is_a_404(
    client: Client, alice: Any, token: str
) -> None:
    """A NUL reached PostgreSQL (psycopg.DataError, a 500); too long a token cannot match."""
    radar = make_radar(alice, feed_token="t" * 32)
    assert client.get(f"/radars/feed/{token}.atom").status_code == 404
    assert client.get(f"/radars/feed/{radar.feed_token}.atom").status_code == 200


def test_a_body_over_the_upload_limit_is_a_json_413(
    api_client: Client, settings: Any, alice: Any
) -> None:
    """Django's RequestDataTooBig was answered as a JSON 500."""
    body = {**RADAR, "description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    radar = make_radar(alice)
    for method, url in (
        ("post", "/api/v1/radars"),
        ("post", "/api/v1/radars/preview"),
        ("patch", f"/api/v1/radars/{radar.pk}"),
        ("post", f"/api/v1/radars/{radar.pk}/feedback"),
    ):
        response = getattr(api_client, method)(url, body, "application/json")
        assert response.status_code == 413, (url, response.content[:200])
        assert response["Content-Type"] == "application/json; charset=utf-8"
        assert response.json() == {"detail": "Request body too large."}
    assert Radar.objects.count() == 1


def test_the_schema_declares_413_wherever_a_body_is_read(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            has_body = "requestBody" in operation
            assert ("413" in operation["responses"]) == has_body, (method, path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Quantum\x0bdots"),
        ("description", "Spin \x01qubits"),
        ("include", "qubit\x1fdecoherence"),
        ("exclude", "survey\nre\x0bview"),
        ("authors", "Ada\x01Lovelace"),
        ("categories", "quant\x08-ph"),
        ("understood_text", "Quantum\x0bdots"),
    ],
)
def test_the_radar_form_refuses_what_the_api_refuses_in_both_languages(
    alice: Any, field: str, value: str
) -> None:
    """The form saved \\x0b and \\x01 that the API answers 422 for."""
    page = signed_in(alice)
    data = {**FORM, field: value}
    for language, message in (
        ("en", "This contains a control character that cannot be saved; remove it."),
        ("zh-hans", "此处含有无法保存的控制字符，请删除。"),
    ):
        profile_update(profile=profile_for(alice), language=language)
        page.cookies["lang"] = language
        response = page.post("/radars/new/", data)
        assert response.status_code == 200, language
        assert message in text_of(response.content.decode()), language
    assert not Radar.objects.exists()
    radar = make_radar(alice, name="Kept")
    response = page.post(f"/radars/{radar.pk}/edit/", {**data, "name": data["name"]})
    assert response.status_code == 200
    radar.refresh_from_db()
    assert radar.name == "Kept" and radar.description == ""
