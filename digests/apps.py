from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DigestsConfig(AppConfig):
    name = "digests"
    verbose_name = _("Summaries")

    def ready(self) -> None:
        from anymail.signals import tracking

        from digests.bounces import tracking_received
        from radar.signals import radar_described

        radar_described.connect(_understand, dispatch_uid="digests.radar_understand")
        tracking.connect(tracking_received, dispatch_uid="digests.mail_tracking")


def _understand(sender: object, *, radar_id: int, **kwargs: object) -> None:
    # Sent after the radar's transaction committed: enqueue at once (Redis away: the
    # understanding sweep sends it later).
    from academichub.enqueue import enqueue
    from digests.llm import llm_configured
    from digests.tasks import radar_understand

    if llm_configured():
        enqueue(radar_understand, radar_id)
