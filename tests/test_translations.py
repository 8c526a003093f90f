"""The Chinese catalogue is complete: every message has a translation, none is fuzzy (a
fuzzy entry is left out of the compiled catalogue and shows in English)."""

from __future__ import annotations

import re
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def entries() -> list[str]:
    blocks = PO.read_text(encoding="utf-8").split("\n\n")
    return [b for b in blocks[1:] if "msgid" in b and not b.lstrip().startswith("#~")]


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    untranslated, fuzzy = [], []
    for block in entries():
        msgid = re.search(r'^msgid "(.*)"', block, re.MULTILINE)
        label = msgid.group(1) if msgid else block[:60]
        if re.search(r"^#,.*\bfuzzy\b", block, re.MULTILINE):
            fuzzy.append(label)
        # msgstr "" (or msgstr[0] "") with no continuation line is an empty translation.
        if re.search(r'^msgstr(\[0\])? ""\s*$(?!\n")', block, re.MULTILINE):
            untranslated.append(label)
    assert len(entries()) > 300
    assert untranslated == []
    assert fuzzy == []
