from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RadarConfig(AppConfig):
    name = "radar"
    verbose_name = _("Radars")
