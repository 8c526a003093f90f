"""What radar tells the floors above it, without knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with `radar_id=` after a radar was saved (the transaction committed) whose description
# has no English profile yet (`radar.understanding`): a new description, or a profile cleared
# by its owner. digests listens and asks the LLM (radar imports neither digests nor the
# pipeline, so it tells rather than calls).
radar_described = Signal()
