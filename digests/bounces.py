"""Bounces and complaints reported by the mail provider: its tracking webhook at
SITE_URL/mail/events/<provider>/, read by django-anymail, which authenticates every request
(the provider's signature, or HTTP basic auth with ANYMAIL's WEBHOOK_SECRET). A provider's URL
exists only once the setting that authenticates it is set (`PROVIDERS`), so no webhook ever
accepts unauthenticated reports. A hard bounce or a spam complaint stops mail to that address
(`accounts.services.address_suppress`). A temporary failure (anymail's `deferred`, or a
bounce the provider calls soft or transient) changes nothing: the SMTP retry handles it.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.models import SuppressedAddress
from accounts.services import address_suppress

logger = logging.getLogger(__name__)

REASONS = {
    "bounced": SuppressedAddress.Reason.BOUNCED,
    "complained": SuppressedAddress.Reason.COMPLAINED,
}


@dataclass(frozen=True, slots=True)
class Provider:
    """A mail provider's tracking webhook: anymail's view, the ANYMAIL settings that
    authenticate its requests (served once one is set) and a package its view needs."""

    view: Any  # an anymail webhook view class (anymail has no type hints)
    keys: tuple[str, ...]
    needs: str = ""


# WEBHOOK_SECRET ("user:password") is the basic auth anymail checks on every provider's
# webhook once it is set (the provider calls https://user:password@host/mail/events/…/);
# for Postmark, Brevo and Amazon SES it is the only authentication there is.
PROVIDERS: dict[str, Provider] = {
    "mailgun": Provider(MailgunTrackingWebhookView, ("MAILGUN_WEBHOOK_SIGNING_KEY",)),
    "postmark": Provider(PostmarkTrackingWebhookView, ("WEBHOOK_SECRET",)),
    "brevo": Provider(BrevoTrackingWebhookView, ("WEBHOOK_SECRET",)),
    # SNS notifications; anymail confirms the subscription with boto3
    # (django-anymail[amazon-ses]).
    "amazon_ses": Provider(AmazonSESTrackingWebhookView, ("WEBHOOK_SECRET",), needs="boto3"),
}


def webhook_view(name: str) -> Callable[[HttpRequest], HttpResponse] | None:
    """The tracking webhook view of provider `name`, or None when it is not served (unknown,
    nothing set to authenticate its requests, or a package its view needs is missing)."""
    provider = PROVIDERS.get(name)
    if provider is None:
        return None
    configured = getattr(settings, "ANYMAIL", {}) or {}
    if not any(configured.get(key) for key in provider.keys):
        return None
    if provider.needs and importlib.util.find_spec(provider.needs) is None:
        logger.warning("the %s webhook needs %s, which is not installed", name, provider.needs)
        return None
    view: Callable[[HttpRequest], HttpResponse] = provider.view.as_view()
    return view


def _temporary(esp_name: str, event: Any) -> bool:
    """Whether a `bounced` event is one the provider calls soft or transient (anymail reports
    those as bounces too for some providers): the address may well work tomorrow."""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    if esp_name == "Postmark":
        return raw.get("Type") in ("SoftBounce", "VirusNotification")
    if esp_name == "Brevo":
        return raw.get("event") == "soft_bounce"
    if esp_name == "Amazon SES":
        bounce = raw.get("bounce")
        return isinstance(bounce, dict) and bounce.get("bounceType") != "Permanent"
    return False


def tracking_received(sender: object, event: Any, esp_name: str, **kwargs: object) -> None:
    """anymail's `tracking` signal: suppress the address of a hard bounce or complaint.
    (An exception here makes the webhook answer 500, and the provider retries.)"""
    reason = REASONS.get(str(event.event_type))
    if reason is None or not event.recipient:
        return
    if reason == SuppressedAddress.Reason.BOUNCED and _temporary(esp_name, event):
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
