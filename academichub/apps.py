"""The project's own app: connects the pipeline (academichub/pipeline.py) to the news the apps
send up (see ARCHITECTURE.md, "How a paper travels")."""

from __future__ import annotations

from django.apps import AppConfig


class AcademicHubConfig(AppConfig):
    name = "academichub"
    verbose_name = "AcademicHub"

    def ready(self) -> None:
        from radar.signals import radar_rescored

        radar_rescored.connect(_rescored, dispatch_uid="academichub.pipeline.radar_rescored")


def _rescored(sender: object, *, radar_id: int, **kwargs: object) -> None:
    from academichub.pipeline import radar_rescored_to_cards

    radar_rescored_to_cards(radar_id)
