"""Incident messages and the officer's discreet signals: the rules, pure (no I/O).

Supervisors and the crews on an alert exchange short messages: a quick reply (a fixed
code with its words) or free text, or both. The officer never sees them; a supervisor
may send her one of a few vibration codes instead, which her page plays with no words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from schemas.common import CONTROL

# Quick replies: code -> the words shown. Either side may use any of them.
QUICK_REPLIES: dict[str, str] = {
    "received": "Received",
    "on_my_way": "On my way",
    "on_scene": "On scene",
    "need_backup": "Need backup",
    "suspect_detained": "Suspect detained",
    "suspect_left": "Suspect has left",
    "all_clear": "All clear",
    "stand_by": "Stand by",
}

# The officer's discreet signals: code -> vibration pattern (ms on, off, on...). Each is
# told apart by feel alone; her page shows no words for any of them.
SIGNALS: dict[str, tuple[int, ...]] = {
    "help_close": (120, 80, 120, 80, 120),  # three short: help is close
    "stay_put": (600,),  # one long: stay where you are
    "move_away": (600, 150, 120, 80, 120),  # long then two short: move to a safer place
}

_SPACES = re.compile(r"[ \t]+")


class MessageRefused(ValueError):
    """A message that cannot be sent; `field` names what was wrong."""

    def __init__(self, field: str, sentence: str) -> None:
        super().__init__(f"{field}: {sentence}")
        self.field, self.sentence = field, sentence


@dataclass(frozen=True, slots=True)
class Composed:
    quick: str | None
    text: str


def clean_text(text: str) -> str:
    """Free text as stored: normalised, no control characters, runs of spaces as one,
    at most two lines in a row."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def compose(quick: str | None, text: str | None, *, max_chars: int) -> Composed:
    """The message to store from a quick reply's code and free text: one of them at
    least; free text at most `max_chars` long once cleaned. Refused with a sentence."""
    if quick is not None and quick not in QUICK_REPLIES:
        known = ", ".join(QUICK_REPLIES)
        raise MessageRefused("quick", f"unknown quick reply {quick[:32]!r} (one of {known}).")
    words = clean_text(text) if text is not None else ""
    if len(words) > max_chars:
        raise MessageRefused("text", f"a message is at most {max_chars} characters.")
    if quick is None and not words:
        raise MessageRefused("text", "write a message or choose a quick reply.")
    if quick is not None:
        words = f"{QUICK_REPLIES[quick]}: {words}" if words else QUICK_REPLIES[quick]
    return Composed(quick, words)


def signal_pattern(code: str) -> tuple[int, ...]:
    """The vibration pattern of a signal code; refused when the code is unknown."""
    pattern = SIGNALS.get(code)
    if pattern is None:
        known = ", ".join(SIGNALS)
        raise MessageRefused("code", f"unknown signal {code[:32]!r} (one of {known}).")
    return pattern


def message_crews(attached: Iterable[str], help_crew_id: str | None) -> tuple[str, ...]:
    """The crews that see an alert's messages: those attached to it, and the crew that
    called for help when it is a crew's call. Never the officer."""
    crews = list(dict.fromkeys(attached))
    if help_crew_id is not None and help_crew_id not in crews:
        crews.append(help_crew_id)
    return tuple(crews)


def may_message(
    *, role: str, crew_id: str | None, attached: Iterable[str], help_crew_id: str | None
) -> bool:
    """Whether this sender may write on an alert: a supervisor, or a crew that sees it."""
    if role == "supervisor":
        return True
    if role == "crew" and crew_id is not None:
        return crew_id in message_crews(attached, help_crew_id)
    return False
