"""Simplified Chinese: a month is written without a leading zero (1月12日, never 01月12日).

Formats not named here are Django's own (django/conf/locale/zh_Hans/formats.py).
"""

from __future__ import annotations

MONTH_DAY_FORMAT = "n月j日"
