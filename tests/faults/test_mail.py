"""Mail owed is mail sent: a real SMTP server (testkit's sink) that goes down, comes back and
answers 4xx or 5xx per recipient, against `manage.py briefings --send` and the dispatcher.
Runs at once use threads, each with its own database connection."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from pytest_django.fixtures import Settings

from digests.delivery import dispatch_due
from digests.models import Delivery
from radar.models import Radar
from testkit.smtp_sink import Sink, mail_through, sink_running
from tests.factories import UserFactory, follow, matched, paper, person, signed_in, sources

MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    yield from sink_running()


@pytest.fixture
def mail(settings: Settings, smtp_sink: Sink) -> Settings:
    settings.LLM_BASE_URL = ""
    settings.LLM_API_KEY = ""
    return mail_through(settings, smtp_sink)


@pytest.fixture
def radar(db: None) -> Radar:
    radar = Radar.objects.create(owner=person("owner", hour=23), name="Long documents")
    matched(radar, [paper(sources()["cs"], "Sparse attention")], at=MORNING - timedelta(hours=3))
    return radar


@pytest.fixture
def readers(radar: Radar) -> list[User]:
    users = [person(f"reader{n}", hour=7) for n in range(3)]
    for user in users:
        follow(user, radar)
    return users


def send_now(radar: Radar) -> Counter[str]:
    """`manage.py briefings --send --radar ID`; the deliveries its JSON line counts."""
    out = io.StringIO()
    call_command("briefings", "--send", "--radar", str(radar.pk), stdout=out)
    return Counter(json.loads(out.getvalue().splitlines()[0])["deliveries"])


def at_once(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs in threads started together, each on its own database connection."""
    start = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(n: int) -> None:
        try:
            start.wait(timeout=10)
            results[n] = jobs[n]()
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def received(sink: Sink, users: list[User]) -> list[int]:
    """How many emails each user got."""
    to = [m["To"] for m in sink.messages]
    return [to.count(u.email) for u in users]


@pytest.mark.django_db(transaction=True)
def test_mail_deferred_in_an_outage_goes_once_to_each_reader_from_two_runs_and_the_dispatcher(
    mail: Settings, smtp_sink: Sink, radar: Radar, readers: list[User]
) -> None:
    smtp_sink.stop()
    with time_machine.travel(MORNING, tick=False):
        outage = send_now(radar)
    assert outage == {"created": 3, "deferred": 1, "left": 2}
    rows = Delivery.objects.order_by("id")
    assert [r.state for r in rows] == ["pending"] * 3
    assert rows[0].next_attempt_at == MORNING + timedelta(minutes=5)

    # The operator fixes the mail server and re-runs the command, twice at once, a minute
    # later (inside the back-off), while the dispatcher runs too.
    smtp_sink.start()
    later = MORNING + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        results = at_once(
            lambda: send_now(radar), lambda: send_now(radar), lambda: dispatch_due(now=later)
        )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert received(smtp_sink, readers) == [1, 1, 1]
    assert sum(c["sent"] for c in results[:2] if isinstance(c, Counter)) <= 3
    assert [r.state for r in Delivery.objects.order_by("id")] == ["sent"] * 3

    # Once sent, nothing is owed: another run sends nothing.
    with time_machine.travel(later + timedelta(minutes=1), tick=False):
        assert send_now(radar)["sent"] == 0
    assert len(smtp_sink.messages) == 3


@pytest.mark.django_db
def test_per_recipient_4xx_is_retried_with_backoff_and_5xx_fails_with_the_servers_words(
    mail: Settings, smtp_sink: Sink, radar: Radar, readers: list[User]
) -> None:
    busy, gone, fine = readers
    smtp_sink.rcpt_replies[busy.email] = "451 4.2.1 Mailbox busy, try later"
    smtp_sink.rcpt_replies[gone.email] = "550 5.1.1 No such user here"
    with time_machine.travel(MORNING, tick=False):
        assert send_now(radar) == {"created": 3, "deferred": 1, "failed": 1, "sent": 1}

    deferred = Delivery.objects.get(user=busy)
    assert (deferred.state, deferred.attempts) == ("pending", 1)
    assert deferred.next_attempt_at == MORNING + timedelta(minutes=5)
    assert deferred.last_error == "451 4.2.1 Mailbox busy, try later"
    failed = Delivery.objects.get(user=gone)
    assert (failed.state, failed.last_error) == ("failed", "550 5.1.1 No such user here")
    assert received(smtp_sink, readers) == [0, 0, 1]

    # Staff see the refusal in the admin, the reader on their emails page (from settings).
    staff = UserFactory.create(name="staff", is_staff=True, is_superuser=True)
    admin = signed_in(staff).get("/admin/digests/delivery/?state=failed").content.decode()
    assert gone.email in admin and "550 5.1.1 No such user here" in admin
    page = signed_in(gone).get("/briefings/emails/").content.decode()
    assert "550 5.1.1 No such user here" in page

    # The busy mailbox is tried again by the dispatcher once its back-off is over.
    smtp_sink.rcpt_replies.pop(busy.email)
    dispatch_due(now=MORNING + timedelta(minutes=4))
    assert received(smtp_sink, readers) == [0, 0, 1]
    dispatch_due(now=MORNING + timedelta(minutes=5))
    assert received(smtp_sink, readers) == [1, 0, 1]
    assert Delivery.objects.get(user=gone).state == "failed"
