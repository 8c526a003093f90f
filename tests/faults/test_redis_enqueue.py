"""Redis away while a page queues work: saving a radar still saves it (a redirect, not a 500),
the lost enqueue is logged once for the outage, and once Redis is back the beat's sweep sends
the rescore, which a real worker runs. Celery's broker is a throwaway redis-server, killed
with SIGKILL. A running worker reconnects to it by itself once it is back."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from academichub.celery import app as celery_app
from radar.models import Match, Radar
from radar.tasks import radars_rescore_sweep
from tests.celery_worker import Worker, broker_url_for, wait_until
from tests.factories import SourceFactory, UserFactory, make_paper, signed_in
from tests.faults.servers import ThrowawayRedis

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class ThrowawayBroker:
    """What `tests.celery_worker.Worker` needs of a broker: the Redis URL it consumes."""

    def __init__(self, server: ThrowawayRedis) -> None:
        self.redis_url = server.url(2)
        self.client = redis.Redis.from_url(self.redis_url)


@pytest.fixture
def celery_on_throwaway_redis(throwaway_redis: ThrowawayRedis) -> Iterator[ThrowawayBroker]:
    """This process sends its tasks to the throwaway Redis (Celery's producer pool is made
    again for the new URL, and again for the old one after the test). No pool is closed:
    kombu keeps one per URL, and the real broker's must still work for the tests after."""
    broker = ThrowawayBroker(throwaway_redis)
    before = celery_app.conf.broker_url

    def point_at(url: str) -> None:
        app = cast(Any, celery_app)  # the private pools have no stubs
        celery_app.conf["broker_url"] = url
        app._after_fork()  # forgets the connection and producer pools, as a forked child does

    point_at(broker_url_for(broker.redis_url))
    yield broker
    point_at(before)


def test_a_radar_saved_with_redis_away_is_saved_and_rescored_by_the_sweep_when_it_is_back(
    celery_on_throwaway_redis: ThrowawayBroker,
    throwaway_redis: ThrowawayRedis,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    source = SourceFactory.create(slug="arxiv-enqueue")
    hits = [make_paper(source, title=f"Sparse attention, variant {i}") for i in range(2)]
    make_paper(source, title="Protein folding at speed")
    client = signed_in(UserFactory.create(name="radar-owner"))
    form = {"name": "Sparse", "include": '"sparse attention"', "threshold": "5"}

    throwaway_redis.kill()
    with caplog.at_level(logging.WARNING, logger="academichub.enqueue"):
        created = client.post("/radars/new/", form)
        radar = Radar.objects.get(name="Sparse")
        edited = client.post(f"/radars/{radar.pk}/edit/", {**form, "name": "Sparse too"})
    lost = [r.getMessage() for r in caplog.records if "queue unavailable" in r.getMessage()]

    assert (created.status_code, edited.status_code) == (302, 302)
    radar.refresh_from_db()
    assert radar.name == "Sparse too"
    assert len(lost) == 1 and "radar.tasks.radar_rescore" in lost[0]
    assert not Match.objects.exists()  # nothing was sent, so nothing rescored it

    throwaway_redis.start()
    assert celery_on_throwaway_redis.client.llen("match") == 0  # lost, not waiting
    # The beat's sweep, as it runs every ten minutes, finds the radar and sends its rescore.
    with caplog.at_level(logging.WARNING, logger="academichub.enqueue"):
        assert radars_rescore_sweep() == 1
    assert any("queue available again" in r.getMessage() for r in caplog.records)
    assert celery_on_throwaway_redis.client.llen("match") == 1
    worker = Worker(tmp_path / "worker.log", celery_on_throwaway_redis, {})  # type: ignore[arg-type]
    try:
        worker.start(timeout=60)
        rescored = wait_until(
            lambda: set(Match.objects.filter(radar=radar).values_list("paper_id", flat=True)),
            60,
        )
    finally:
        worker.stop()

    assert {p.pk for p in hits} <= rescored, worker.log()[-3000:]
    radar.refresh_from_db()
    assert radar.profile_updated_at is not None
    assert radars_rescore_sweep() == 0


def test_a_running_worker_reconnects_after_redis_restarts_and_runs_the_work_sent_then(
    celery_on_throwaway_redis: ThrowawayBroker,
    throwaway_redis: ThrowawayRedis,
    tmp_path: Path,
) -> None:
    """Redis (the broker) killed under a running worker and started again, empty: the same
    worker process reconnects by itself and runs what a page sends afterwards."""
    # Without this Celery gives up after 100 tries and the worker exits.
    assert celery_app.conf.broker_connection_max_retries is None
    source = SourceFactory.create(slug="arxiv-restart")
    before = make_paper(source, title="Sparse attention before the restart")
    after = make_paper(source, title="Mixture of experts after the restart")
    client = signed_in(UserFactory.create(name="radar-owner"))
    worker = Worker(tmp_path / "worker.log", celery_on_throwaway_redis, {})  # type: ignore[arg-type]
    try:
        worker.start(timeout=60)

        def matched(name: str) -> set[int]:
            radar = Radar.objects.filter(name=name).first()
            return set(Match.objects.filter(radar=radar).values_list("paper_id", flat=True))

        form = {"name": "Sparse", "include": '"sparse attention"', "threshold": "5"}
        assert client.post("/radars/new/", form).status_code == 302
        assert before.pk in wait_until(lambda: matched("Sparse"), 60), worker.log()[-3000:]

        throwaway_redis.kill()
        worker.wait_for_log(re.compile(r"Connection to broker lost"), 30)
        throwaway_redis.start()  # empty: --save "" and no append-only file
        restarted = time.monotonic()
        form = {"name": "Experts", "include": '"mixture of experts"', "threshold": "5"}
        assert client.post("/radars/new/", form).status_code == 302
        done = wait_until(lambda: after.pk in matched("Experts"), 60)
        took = time.monotonic() - restarted
        assert done, worker.log()[-3000:]
        assert worker.process is not None and worker.process.poll() is None  # never restarted
        assert celery_on_throwaway_redis.client.llen("match") == 0
    finally:
        worker.stop()
    print(f"\nwork sent after the Redis restart done in {took:.1f} s by the same worker")
