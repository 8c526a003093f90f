"""What accounts tells the apps built on it, without knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with `profile=` after a user changed their briefing frequency or summary language.
# radar applies them to every radar the user follows (accounts imports no other app, so the
# one place that copies the preferences listens here instead of being called).
briefing_preferences_changed = Signal()
