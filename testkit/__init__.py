"""Real local stand-ins for outside services — an OpenAI-compatible HTTP server, an SMTP
server — shared by tests/ and bench/; never imported by product code."""

from __future__ import annotations
