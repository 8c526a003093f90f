"""Structured logs: with LOG_FORMAT=json every record of the site and of its Celery workers is
one JSON object per line, with its level, logger and message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.celery_worker import Broker, Worker
from tests.ops.deployment import REPO

SNIPPET = """
import logging
log = logging.getLogger("feeds.pipeline.poll")
log.warning("source %s paused after %d errors", "nature", 3)
try:
    1 / 0
except ZeroDivisionError:
    log.exception("poll failed: 中文 too")
"""


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_logs_are_one_object_per_line_with_level_logger_and_message() -> None:
    result = run_manage("shell", "-c", SNIPPET, LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("WARNING", "feeds.pipeline.poll", "source nature paused after 3 errors"),
        ("ERROR", "feeds.pipeline.poll", "poll failed: 中文 too"),
    ]
    assert "ZeroDivisionError" in records[1]["exc_info"]
    assert records[0]["time"].endswith("+00:00")


def test_plain_logs_stay_the_default() -> None:
    result = run_manage("shell", "-c", SNIPPET)
    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.endswith("WARNING feeds.pipeline.poll source nature paused after 3 errors")


def test_an_unknown_log_format_is_refused() -> None:
    result = run_manage("check", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'" in result.stderr


@pytest.mark.slow
@pytest.mark.django_db
def test_a_worker_logs_json_too(own_broker: Broker, tmp_path: Path) -> None:
    worker = Worker(tmp_path / "worker.log", own_broker, {"LOG_FORMAT": "json"}, queues=["poll"])
    try:
        worker.start(timeout=60)
    finally:
        worker.stop()
    records = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    ready = [r for r in records if r["message"].endswith(" ready.")]
    assert ready and ready[0]["logger"] == "celery.apps.worker", worker.log()
    assert ready[0]["level"] == "INFO"
