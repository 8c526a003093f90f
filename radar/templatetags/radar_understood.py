"""`{% understood_state radar as u %}`: what a radar's page says about its English profile."""

from __future__ import annotations

from django import template

from radar.models import Radar
from radar.understanding import UnderstoodState
from radar.understanding import understood_state as _state

register = template.Library()


@register.simple_tag
def understood_state(radar: Radar) -> UnderstoodState:
    """The radar's English profile, or why it has none yet (`radar.understanding`)."""
    return _state(radar)
