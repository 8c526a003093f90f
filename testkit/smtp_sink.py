"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts, scripted per test:
answers for the next messages (421, 451, 550…), an answer to the sender address (553),
answers per recipient (one address deferred with 451, another refused with 550, the rest
accepted), a hold before the final 250 (so a test can kill the sender between the server
taking the message and the sender marking it sent), and stop/start on the same port (the
server going away and coming back)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings

# Longest a held answer waits for the test to release it: every wait here is bounded.
MAX_HOLD = 30.0
SITE_URL = "https://academichub.example"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sink:
    """The server's handler and its record of accepted messages."""

    def __init__(self) -> None:
        self.port = free_port()
        self.raw: list[bytes] = []
        self.recipients: list[list[str]] = []
        # Answers for the next DATA commands, instead of accepting ("451 …", "550 …").
        self.replies: deque[str] = deque()
        # The answer to MAIL FROM, kept until changed ("553 …": our sender address refused).
        self.mail_reply = ""
        # Answers to RCPT TO by address (casefolded), kept until changed: "451 …", "550 …".
        self.rcpt_replies: dict[str, str] = {}
        # When set, the next accepted message is stored, then its "250" waits for `release`.
        self.hold_next = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        with self.lock:
            reply = self.mail_reply
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            reply = self.rcpt_replies.get(address.casefold())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.replies:
                return self.replies.popleft()
            content = bytes(envelope.original_content or envelope.content)
            self.raw.append(content)
            self.recipients.append(list(envelope.rcpt_tos))
            hold = self.hold_next.is_set()
            self.hold_next.clear()
        if hold:
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, MAX_HOLD)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        """The accepted messages, parsed (when asked: parsing is slow, the server is not)."""
        with self.lock:
            raw = list(self.raw)
        return [email.message_from_bytes(content, policy=email.policy.default) for content in raw]

    def start(self) -> Sink:
        """Listen (again) on the sink's port."""
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until `start`."""
        self.release.set()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """The accepted messages, once at least `count` have arrived (for a sender in another
        thread, such as a live server's)."""
        deadline = time.monotonic() + timeout
        while len(self.raw) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.raw) >= count, f"{len(self.raw)} messages after {timeout} s"
        return self.messages

    def to(self, address: str) -> list[EmailMessage]:
        """The messages accepted for `address`."""
        return [
            m for m, rcpt in zip(self.messages, self.recipients, strict=True) if address in rcpt
        ]


def sink_running() -> Iterator[Sink]:
    """A running sink, stopped when the generator is closed (a fixture's body)."""
    sink = Sink().start()
    try:
        yield sink
    finally:
        sink.stop()


def mailer_settings(port: int, timeout: float = 5) -> dict[str, Any]:
    """MAILERS for the real SMTP backend at `port` on loopback."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
        }
    }


def mail_through(settings: Settings, smtp_sink: Sink) -> Settings:
    """Django mailing through the sink, with an HTTPS site URL for links in emails."""
    settings.MAILERS = mailer_settings(smtp_sink.port)
    settings.SITE_URL = SITE_URL
    settings.DEFAULT_FROM_EMAIL = "AcademicHub <briefings@academichub.example>"
    return settings
