"""What radar tells the floors above it, without knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with `radar_id=` after a radar was saved (the transaction committed) whose description
# has no English profile yet (`radar.understanding`): a new description, or a profile cleared
# by its owner. digests listens and asks the LLM (radar imports neither digests nor the
# pipeline, so it tells rather than calls).
radar_described = Signal()

# Sent with `radar_id=` after a radar's recent window was rescored (it was created or edited,
# or got its English profile): its matches want their summary cards now, not at the next
# sweep. The pipeline listens (academichub/apps.py).
radar_rescored = Signal()
