"""What account emails (sign-up confirmation, password reset) say: the site as readers know
it (AcademicHub at the host of SITE_URL, whatever the Site row holds), in either language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.contrib.sites.models import Site
from django.core import mail
from pytest_django.fixtures import Settings

from tests.factories import PASSWORD, fresh_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_address(settings: Settings) -> str:
    """SITE_URL on another port than the Site row names (a row written at migrate time
    with an older SITE_URL)."""
    settings.SITE_URL = "http://localhost:8124"
    Site.objects.filter(id=settings.SITE_ID).update(domain="localhost:8000", name="example.com")
    Site.objects.clear_cache()
    return "localhost:8124"


def _sign_up(email: str, language: str = "en") -> mail.EmailMessage:
    client = fresh_client()
    client.cookies["lang"] = language
    client.post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def _reset(user: User, language: str = "en") -> mail.EmailMessage:
    client = fresh_client()
    client.cookies["lang"] = language
    client.post("/accounts/password/reset/", {"email": user.email})
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def test_the_confirmation_email_names_the_public_site(public_address: str) -> None:
    message = _sign_up("carol@example.org")

    body = str(message.body)
    assert public_address in body
    assert "AcademicHub" in body
    assert "localhost:8000" not in body
    assert "example.com" not in body


def test_the_password_reset_email_names_the_public_site(public_address: str, alice: User) -> None:
    message = _reset(alice)

    body = str(message.body)
    assert public_address in body
    assert "AcademicHub" in body
    assert "localhost:8000" not in body
    assert "example.com" not in body


def test_the_chinese_confirmation_email_reads_naturally(public_address: str) -> None:
    message = _sign_up("wang@example.org", language="zh-hans")

    body = str(message.body)
    assert message.subject == "[AcademicHub] 验证你的电子邮件地址"
    assert body.startswith("你好：")
    assert "有人（应该是你）用邮箱 wang@example.org 注册了 AcademicHub（localhost:8124）。" in body
    assert "请打开下面的链接，确认邮箱并完成注册：" in body
    assert body.rstrip().endswith("AcademicHub\nlocalhost:8124")
    for slip in ("您", "Email", "Hello", "localhost:8000"):
        assert slip not in body


def test_the_english_confirmation_email_names_the_address_not_a_username(
    public_address: str,
) -> None:
    body = str(_sign_up("carol@example.org").body)

    assert (
        "signed up for AcademicHub (localhost:8124) with the email address carol@example.org"
        in (body)
    )
    assert "user carol " not in body


def test_the_chinese_password_reset_email(public_address: str, alice: User) -> None:
    message = _reset(alice, language="zh-hans")

    body = str(message.body)
    assert message.subject == "[AcademicHub] 重置密码"
    assert f"申请重置 AcademicHub 账户 {alice.email} 的密码" in body
    assert "/accounts/password/reset/key/" in body
    assert "您" not in body
    assert "username" not in body


def _messages(response: Any) -> list[str]:
    """The messages a response's request queued (a test client response)."""
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    ("language", "confirmed", "signed_in", "signed_out", "refused"),
    [
        (
            "en",
            "Your email address {email} is confirmed.",
            "Signed in as {email}.",
            "You have signed out.",
            "The email address or password is not correct.",
        ),
        (
            "zh-hans",
            "你的邮箱 {email} 已确认。",
            "你已登录，账户为 {email}。",
            "你已退出登录。",
            "邮箱地址或密码不正确。",
        ),
    ],
)
def test_a_new_users_messages_name_them_by_email(
    language: str, confirmed: str, signed_in: str, signed_out: str, refused: str
) -> None:
    email = f"new-{language}@example.org"
    message = _sign_up(email, language=language)
    client = fresh_client()
    client.cookies["lang"] = language
    link = re.search(r"https?://[^/\s]+(/\S+)", str(message.body))
    assert link

    response = client.post(link.group(1))

    assert confirmed.format(email=email) in _messages(response)
    client.post("/accounts/logout/")
    response = client.post("/accounts/login/", {"login": email, "password": "wrong"})
    assert refused in response.content.decode()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert signed_in.format(email=email) in _messages(response)
    response = client.post("/accounts/logout/")
    assert signed_out in _messages(response)
