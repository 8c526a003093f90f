"""Bounces and complaints reported by the mail provider (Mailgun's tracking webhook, read by
django-anymail, which checks the HMAC signature of every request): a hard bounce or a spam
complaint stops mail to that address (`accounts.services.address_suppress`). A temporary
failure (anymail's `deferred`) changes nothing: the SMTP retry handles it.
"""

from __future__ import annotations

import logging
from typing import Any

from accounts.models import SuppressedAddress
from accounts.services import address_suppress

logger = logging.getLogger(__name__)

REASONS = {
    "bounced": SuppressedAddress.Reason.BOUNCED,
    "complained": SuppressedAddress.Reason.COMPLAINED,
}


def tracking_received(sender: object, event: Any, esp_name: str, **kwargs: object) -> None:
    """anymail's `tracking` signal: suppress the address of a hard bounce or complaint.
    (An exception here makes the webhook answer 400, and the provider retries.)"""
    reason = REASONS.get(str(event.event_type))
    if reason is None or not event.recipient:
        return
    detail = " ".join(str(x) for x in (event.description, event.mta_response) if x)
    created = address_suppress(
        email=str(event.recipient),
        reason=reason,
        detail=f"{esp_name}: {detail}" if detail else esp_name,
        event_id=str(event.event_id or ""),
    )
    if created:
        logger.warning("mail to an address stopped: %s (%s)", reason, esp_name)
