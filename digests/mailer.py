"""Sending mail: one SMTP session per batch, whose failures say whether a retry is safe.

A server that cannot be reached or answers 4xx raises SendDeferred (nothing was accepted),
as does a refused sender address (MAIL FROM: our configuration, not the reader's address);
a 5xx refusal of the recipient or the message raises SendRefused. When the connection drops after the message was handed
over (the DATA command began), the server may hold it: SendUnknown, never to be retried.
"""

from __future__ import annotations

import contextlib
import smtplib
from typing import Any

from django.core import mail
from django.core.mail import EmailMessage


class SendDeferred(Exception):
    """Nothing was accepted (unreachable server, 4xx): safe to try again later."""


class SendRefused(Exception):
    """The server refused the message for good (5xx)."""


class SendUnknown(Exception):
    """The connection failed after the message was handed over: it may have been accepted."""


class Mailer:
    """One connection to the mail server, reused for a batch, that tells the failures that
    are safe to retry from those after which the message may already be on its way."""

    def __init__(self) -> None:
        self.backend: Any = None
        self.down = False
        self.stage = ""

    def _open(self) -> None:
        backend = mail.mailers.default
        try:
            backend.open()
        except (OSError, smtplib.SMTPException) as exc:
            self.down = True
            raise SendDeferred(f"the mail server cannot be reached: {exc}") from exc
        smtp = getattr(backend, "connection", None)
        if isinstance(smtp, smtplib.SMTP):
            data = smtp.data

            def data_noted(msg: Any) -> tuple[int, bytes]:
                # From here on the server may hold the message whatever happens next.
                self.stage = "data"
                return data(msg)

            smtp.data = data_noted  # type: ignore[method-assign]
        self.backend = backend

    def send(self, message: EmailMessage) -> None:
        """Send one message, or raise SendDeferred, SendRefused or SendUnknown."""
        if self.backend is None:
            self._open()
        self.stage = "envelope"
        try:
            sent = self.backend.send_messages([message])
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = [code for code, _ in exc.recipients.values()]
            # The server's own words, as staff and the reader are shown them.
            said = "; ".join(f"{code} {_text(reply)}" for code, reply in exc.recipients.values())
            if codes and all(400 <= code < 500 for code in codes):
                raise SendDeferred(said) from exc
            raise SendRefused(said) from exc
        except smtplib.SMTPSenderRefused as exc:
            # Our From address (DEFAULT_FROM_EMAIL) is refused: every email of the batch
            # would be, so the rest waits, and nobody's email fails for good over it.
            self.close()
            self.down = True
            raise SendDeferred(
                f"the mail server refused our sender address {exc.sender}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            error = _text(exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                raise SendDeferred(f"{exc.smtp_code} {error}") from exc
            raise SendRefused(f"{exc.smtp_code} {error}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            if self.stage == "data":
                raise SendUnknown(f"connection lost after the message was sent: {exc!r}") from exc
            raise SendDeferred(f"connection lost before the message was sent: {exc!r}") from exc
        if sent != 1:
            raise SendRefused("the mail backend sent nothing")

    def close(self) -> None:
        """Close the connection, if any (quietly: it may be dead already)."""
        backend, self.backend = self.backend, None
        if backend is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                backend.close()


def _text(reply: bytes | str) -> str:
    """An SMTP reply's text (servers send bytes)."""
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
