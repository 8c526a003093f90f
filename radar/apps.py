from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from accounts.models import Profile


class RadarConfig(AppConfig):
    name = "radar"
    verbose_name = _("Radars")

    def ready(self) -> None:
        from accounts.signals import briefing_preferences_changed

        briefing_preferences_changed.connect(
            _follow_profile, dispatch_uid="radar.subscriptions_follow_profile"
        )


def _follow_profile(sender: object, *, profile: Profile, **kwargs: object) -> None:
    from radar.services import subscriptions_follow_profile

    subscriptions_follow_profile(profile)
