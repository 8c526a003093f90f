"""Briefing emails sent by a real Celery worker (prefork subprocess, the real Redis broker,
the test database, an SMTP server on loopback), killed by PID between the server taking the
message and the row being marked sent: the task comes back, and nobody gets a second email.
The beat task, run three times, sends each reader one email covering all their radars (the
radars' tasks run apart; whichever finishes last writes the reader's row).

Uses Redis database 2 like the other worker tests: run this file on its own."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from digests import tasks
from digests.briefings import briefing_ensure
from digests.delivery import SENDING_TIMEOUT, deliveries_create, dispatch_due
from digests.models import Delivery
from digests.schedule import readers_due
from radar.models import Radar
from testkit.smtp_sink import SITE_URL, Sink
from tests.celery_worker import Broker, Worker, wait_until
from tests.factories import follow, matched, paper, person, sources

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(broker: Broker, tmp_path: Path, smtp_sink: Sink) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def start(workers: list[Worker], broker: Broker, tmp_path: Path, sink: Sink) -> Worker:
    env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        "EMAIL_TIMEOUT": "10",
        "SITE_URL": SITE_URL,
        "DEFAULT_FROM_EMAIL": "AcademicHub <briefings@academichub.example>",
        "LLM_BASE_URL": "",
        "LLM_API_KEY": "",
    }
    worker = Worker(tmp_path / f"worker-{len(workers)}.log", broker, env)
    workers.append(worker)
    return worker.start()


@pytest.fixture
def readers(db: Any) -> list[User]:
    """Two readers of a radar with new matches, whose delivery hour has just passed; each
    also owns a radar of their own with new matches."""
    now = timezone.now()
    src = sources()
    radar = Radar.objects.create(owner=person("owner"), name="Long documents", public=True)
    matched(radar, [paper(src["cs"], "Sparse attention")], at=now - timedelta(hours=2))
    users = [person(f"reader{n}", zone="UTC", hour=now.hour) for n in range(2)]
    for n, user in enumerate(users):
        follow(user, radar)
        own = Radar.objects.create(owner=user, name=f"Own radar {n}")
        matched(own, [paper(src["bio"], f"Genome paper {n}")], at=now - timedelta(hours=1))
        follow(user, own)
    return users


def test_a_worker_killed_after_the_server_took_the_message_never_sends_it_again(
    broker: Broker, workers: list[Worker], tmp_path: Path, smtp_sink: Sink, readers: list[User]
) -> None:
    now = timezone.now()
    due = readers_due(now=now)
    briefings = {
        (rid, d.cadence, d.period_start, "en"): briefing_ensure(
            radar_id=rid, cadence=d.cadence, period_start=d.period_start, language="en", now=now
        )
        for d in due
        for rid in d.radar_ids
    }
    assert deliveries_create(due, briefings, now=now) == 2
    ids = list(Delivery.objects.order_by("id").values_list("id", flat=True))
    smtp_sink.hold_next.set()
    worker = start(workers, broker, tmp_path, smtp_sink)

    broker.send(tasks.deliveries_send, ids)
    worker.wait(smtp_sink.held.is_set, 30, "message at the SMTP server")
    # The server holds the first message; the row says it is being sent.
    assert Delivery.objects.get(pk=ids[0]).state == Delivery.State.SENDING
    child = worker.pool_child()
    child.send_signal(signal.SIGKILL)
    worker.wait_for_log(re.compile(r"WorkerLostError"), 10)
    smtp_sink.release.set()

    # reject_on_worker_lost puts the task back; a new child runs it: the first row is
    # claimed by nobody (it is `sending`), the second is sent.
    worker.wait_for_log(re.compile(r"deliveries_send\[\S+\] succeeded"), 30)
    assert wait_until(lambda: broker.waiting() == 0, 10)
    rows = list(Delivery.objects.order_by("id"))
    assert [r.state for r in rows] == ["sending", "sent"]
    assert len(smtp_sink.to(readers[0].email)) == 1
    assert len(smtp_sink.to(readers[1].email)) == 1

    # Later runs flag the stuck row for staff and never send it again.
    later = now + SENDING_TIMEOUT + timedelta(minutes=1)
    dispatch_due(now=later)
    stuck = Delivery.objects.get(pk=ids[0])
    assert (stuck.state, stuck.flagged) == ("sending", True)
    assert len(smtp_sink.messages) == 2


def test_the_beat_task_builds_and_sends_each_readers_briefing_once_however_often_it_runs(
    broker: Broker, workers: list[Worker], tmp_path: Path, smtp_sink: Sink, readers: list[User]
) -> None:
    worker = start(workers, broker, tmp_path, smtp_sink)

    broker.send(tasks.digests_dispatch_due)
    assert wait_until(lambda: len(smtp_sink.messages) == 2, 30), worker.log()
    broker.send(tasks.digests_dispatch_due)
    broker.send(tasks.digests_dispatch_due)
    worker.wait(
        lambda: len(re.findall(r"digests_dispatch_due\[\S+\] succeeded", worker.log())) == 3,
        30,
        "three dispatches",
    )
    assert wait_until(lambda: broker.waiting() == 0, 10)

    # One email each, covering the topic and their own radar.
    assert sorted(m["To"] for m in smtp_sink.messages) == sorted(u.email for u in readers)
    assert Delivery.objects.filter(state="sent").count() == 2
    for n, user in enumerate(readers):
        [message] = smtp_sink.to(user.email)
        text = str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
        assert "==== Long documents ====" in text and f"==== Own radar {n} ====" in text
