"""The staff source-health page, the admin's unpause action, and the liveness probe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from feeds.models import PaperSighting, Source
from tests.factories import PaperFactory, SourceFactory, make_user

pytestmark = pytest.mark.django_db

HEALTH_URL = "/ops/sources/"
CHECKED = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
NEXT = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"


class _TableReader(HTMLParser):
    """The text of every cell of the page's table, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def health_rows(html: str) -> dict[str, dict[str, str]]:
    """Each source's row of the health table, keyed by label, cells keyed by column heading."""
    reader = _TableReader()
    reader.feed(html)
    header, *rows = reader.rows
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


@pytest.fixture
def staff_client(client: Client) -> Client:
    staff = make_user("operator@example.org", is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="change_source", content_type__app_label="feeds")
    )
    client.force_login(staff)
    return client


@pytest.fixture
def sources() -> dict[str, Source]:
    """One source in each state the page distinguishes."""
    limit = settings.SOURCE_ERROR_LIMIT
    return {
        "ok": SourceFactory.create(
            label="arXiv (cs.CL)", checked_at=CHECKED, next_check_at=NEXT, items_last_time=412
        ),
        "failing": SourceFactory.create(
            label="Nature", kind=Source.Kind.RSS, checked_at=CHECKED, next_check_at=NEXT,
            error_count=1, last_error="HTTP 503 from www.nature.com", last_error_kind="http_5xx",
        ),
        "paused": SourceFactory.create(
            label="arXiv (astroph)", checked_at=CHECKED, next_check_at=NEXT, error_count=limit,
            last_error="Bad archive 'astroph'.", last_error_kind="error_feed",
        ),
        "disabled": SourceFactory.create(label="Cell", kind=Source.Kind.RSS, enabled=False),
    }  # fmt: skip


def test_staff_see_every_source_with_its_polling_state(
    staff_client: Client, sources: dict[str, Source]
) -> None:
    response = staff_client.get(HEALTH_URL)
    assert response.status_code == 200
    rows = health_rows(response.content.decode())
    assert set(rows) == {"arXiv (cs.CL)", "Nature", "arXiv (astroph)", "Cell"}
    assert {label: row["State"] for label, row in rows.items()} == {
        "arXiv (cs.CL)": "ok", "Nature": "failing", "arXiv (astroph)": "paused", "Cell": "disabled",
    }  # fmt: skip
    ok = rows["arXiv (cs.CL)"]
    assert ok["Kind"] == "arXiv RSS"
    assert ok["Last check"] == "Nov. 23, 2026, 9:30 a.m."
    assert ok["Next check"] == "Nov. 23, 2026, 10:30 a.m."
    assert (ok["Items last time"], ok["Errors"], ok["Last error"]) == ("412", "0", "")
    failing = rows["Nature"]
    assert failing["Errors"] == "1"
    assert failing["Last error"] == "http_5xx HTTP 503 from www.nature.com"
    never_checked = rows["Cell"]
    assert (never_checked["Last check"], never_checked["Items last time"]) == ("—", "—")


def test_a_paused_source_is_shown_as_paused_with_its_error(
    staff_client: Client, sources: dict[str, Source]
) -> None:
    paused = health_rows(staff_client.get(HEALTH_URL).content.decode())["arXiv (astroph)"]
    assert paused["State"] == "paused"
    assert paused["Errors"] == str(settings.SOURCE_ERROR_LIMIT)
    assert paused["Last error"] == "error_feed Bad archive 'astroph'."


def test_the_page_counts_the_papers_each_source_carried(
    staff_client: Client, sources: dict[str, Source]
) -> None:
    for paper in PaperFactory.create_batch(3):
        PaperSighting.objects.create(source=sources["ok"], paper=paper)
    rows = health_rows(staff_client.get(HEALTH_URL).content.decode())
    assert rows["arXiv (cs.CL)"]["Papers"] == "3"
    assert rows["Nature"]["Papers"] == "0"


def test_hostile_error_text_is_shown_escaped(staff_client: Client) -> None:
    SourceFactory.create(label="Evil", error_count=1, last_error=HOSTILE, last_error_kind="parse")
    html = staff_client.get(HEALTH_URL).content.decode()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert health_rows(html)["Evil"]["Last error"] == f"parse {HOSTILE}"


def test_the_page_uses_the_same_queries_for_one_source_or_many(staff_client: Client) -> None:
    SourceFactory.create()
    staff_client.get(HEALTH_URL)  # the first visit may set up per-session state
    with CaptureQueriesContext(connection) as one:
        staff_client.get(HEALTH_URL)
    SourceFactory.create_batch(20, error_count=1, last_error="HTTP 500")
    with CaptureQueriesContext(connection) as many:
        response = staff_client.get(HEALTH_URL)
    assert len(health_rows(response.content.decode())) == 21
    assert len(many) == len(one)


@pytest.mark.parametrize("visitor", ["another_user", "anonymous"])
def test_others_are_sent_to_the_admin_login_and_see_no_source_data(
    client: Client, sources: dict[str, Source], visitor: str
) -> None:
    if visitor == "another_user":
        client.force_login(make_user("reader@example.org"))
    response = client.get(HEALTH_URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={HEALTH_URL}"
    page = client.get(HEALTH_URL, follow=True).content.decode()
    for leaked in ("arXiv (astroph)", "Bad archive", "HTTP 503", "Nature"):
        assert leaked not in page


def test_the_admin_action_unpauses_a_source_and_makes_it_due_now(
    staff_client: Client, sources: dict[str, Source]
) -> None:
    paused, failing = sources["paused"], sources["failing"]
    response = staff_client.post(
        reverse("admin:feeds_source_changelist"),
        {"action": "reset_and_check_now", "_selected_action": [paused.id]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Sources unpaused." in response.content.decode()
    paused.refresh_from_db()
    assert (paused.error_count, paused.last_error, paused.last_error_kind) == (0, "", "")
    assert not paused.paused
    assert abs(paused.next_check_at - timezone.now()) < timedelta(seconds=30)
    failing.refresh_from_db()
    assert failing.error_count == 1  # not selected, not touched


def test_someone_who_is_not_staff_cannot_run_the_admin_action(
    client: Client, sources: dict[str, Source]
) -> None:
    client.force_login(make_user("reader@example.org"))
    paused = sources["paused"]
    response = client.post(
        reverse("admin:feeds_source_changelist"),
        {"action": "reset_and_check_now", "_selected_action": [paused.id]},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    paused.refresh_from_db()
    assert paused.error_count == settings.SOURCE_ERROR_LIMIT


def test_healthz_answers_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "down": [], "database": "ok", "redis": "ok"}
    live = client.get("/healthz?live")
    assert (live.status_code, live.content) == (200, b"ok")
    assert live["Content-Type"].startswith("text/plain")
