"""schemathesis, every check, against the live OpenAPI schema of a running server.

Property-based: it sends schema-valid and schema-breaking requests (NUL, huge numbers,
missing fields, wrong types, other methods) to every operation with a real token and
asserts the API never answers 500, answers what its schema declares, in JSON, and refuses
what the schema refuses. The seed is printed; `SCHEMATHESIS_SEED=<n>` replays a run and
`SCHEMATHESIS_EXAMPLES=<n>` changes its size.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from tests.factories import PaperFactory, make_radar

pytestmark = pytest.mark.django_db(transaction=True)

ST = Path(sys.executable).with_name("st")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))


def test_schemathesis_finds_nothing_wrong_with_any_operation(
    live_server: LiveServer, settings: Settings, alice: Any, alice_secret: str, bob: Any,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000  # the run is thousands of requests
    PaperFactory.create(key="2411.00001")
    make_radar(alice, name="Mine")
    make_radar(bob, name="Bob's topic", public=True)
    seed = int(os.environ.get("SCHEMATHESIS_SEED") or random.randrange(2**31))
    command = [
        str(ST), "run", f"{live_server.url}/api/v1/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {alice_secret}",
        "--max-examples", str(EXAMPLES),
        "--seed", str(seed),
        "--workers", "1",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
    }
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    with capsys.disabled():
        print(f"\nschemathesis seed {seed} ({EXAMPLES} examples per operation)")
        # The summary's closing part: test case counts, the seed, the time.
        summary = run.stdout.split("Test cases:", 1)[-1]
        print("Test cases:", " ".join(summary.split()))
    assert run.returncode == 0, f"seed {seed}\n{run.stdout}\n{run.stderr}"
