"""Fixtures for digest tests: the fake LLM on loopback and settings pointing at it, an SMTP
sink and mail settings, sources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings

from feeds.models import Source
from testkit.briefing_llm import answering_briefings
from testkit.fake_llm import FakeLLM
from testkit.smtp_sink import Sink, mail_through, sink_running
from tests.factories import SourceFactory, UserFactory, sources


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """The OpenAI-compatible server, answering valid cards unless scripted otherwise."""
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture
def llm_settings(settings: Settings, fake_llm: FakeLLM, redis_client: Any) -> Settings:
    """An LLM configured at the fake server; a fresh budget counter (Redis db emptied)."""
    settings.LLM_BASE_URL = fake_llm.base_url
    settings.LLM_API_KEY = "sk-test"
    settings.LLM_MODEL = "fake-model"
    settings.LLM_JSON_MODE = "json_schema"
    settings.LLM_TIMEOUT = 5.0
    settings.LLM_MAX_RETRIES = 2
    settings.LLM_DAILY_TOKEN_BUDGET = 0
    settings.LLM_SUMMARIZE = "matched"
    settings.LLM_CONCURRENCY = 1
    return settings


@pytest.fixture
def no_llm(settings: Settings, redis_client: Any) -> Settings:
    """No endpoint configured: cards are extractive."""
    settings.LLM_BASE_URL = ""
    settings.LLM_API_KEY = ""
    settings.LLM_SUMMARIZE = "matched"
    settings.LLM_CONCURRENCY = 1
    return settings


@pytest.fixture
def arxiv_source(db: None) -> Source:
    return SourceFactory.create(slug="arxiv-cs", kind=Source.Kind.ARXIV_RSS, label="arXiv cs")


@pytest.fixture
def carol(db: None) -> User:
    """A user with a recognisable name and email, to look for in prompts."""
    return UserFactory.create(name="carol-zhang", first_name="Carol", last_name="Zhang")


# --- Briefings and mail ----------------------------------------------------------------------


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""
    yield from sink_running()


@pytest.fixture
def mail(settings: Settings, smtp_sink: Sink) -> Settings:
    """Settings that send mail to `smtp_sink`."""
    return mail_through(settings, smtp_sink)


@pytest.fixture
def briefing_llm(llm_settings: Settings, fake_llm: FakeLLM) -> FakeLLM:
    """The local LLM server, answering briefing requests."""
    return answering_briefings(fake_llm)


@pytest.fixture
def src() -> dict[str, Source]:
    """An arXiv, a bioRxiv and a journal source, each of its own discipline."""
    return sources()
