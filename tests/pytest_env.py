"""Loaded with -p before pytest-django reads the settings: tests use their own Redis db."""

from __future__ import annotations

import os

# The embedded Redis's database 1, never the dev server's 0.
os.environ.setdefault("EMBEDDED_REDIS_DB", "1")
