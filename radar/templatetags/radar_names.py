"""`{{ radar|display_description }}`: a radar's description as readers see it."""

from __future__ import annotations

from django import template

from feeds.names import topic_description
from radar.models import Radar

register = template.Library()


@register.filter
def display_description(radar: Radar) -> str:
    """A starter public topic's description in the reader's language (like `display_name`);
    any other description as its owner wrote it."""
    return topic_description(radar.name, radar.description) if radar.public else radar.description
