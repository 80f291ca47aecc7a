"""The report page's words: the built-in ones (strings.json), the force's own over them
(`public_reports.wording`), its placeholders filled from the settings."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from dispatch.config import PublicReportsSettings

STRINGS = Path(__file__).with_name("strings.json")


@lru_cache(maxsize=1)
def built_in() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(STRINGS.read_text(encoding="utf-8"))
    return data


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # filled by the page ({count}, {reference})


def page_strings(p: PublicReportsSettings) -> dict[str, dict[str, str]]:
    """Every configured language's words; a word missing in one is the first language's,
    then English."""
    data = built_in()
    values = _Blank(
        force=p.force_name,
        emergency=p.emergency_number,
        non_emergency=p.non_emergency_number or p.emergency_number,
        max_chars=str(p.description_max),
        days=f"{p.max_age_days:g}",
    )
    out: dict[str, dict[str, str]] = {}
    first = p.languages[0]
    for language in p.languages:
        words = {
            **data["en"],
            **data.get(first, {}),
            **p.wording.get(first, {}),
            **data.get(language, {}),
            **p.wording.get(language, {}),
        }
        out[language] = {key: _fill(text, values) for key, text in words.items()}
    return out


def _fill(text: str, values: _Blank) -> str:
    try:
        return text.format_map(values)
    except (ValueError, IndexError):  # a stray brace in the force's wording: as written
        return text
