"""Incident messages and who sees them, as pure rules (no event loop): composing a
message, the officer's signal codes, the audience of a message event and of crews'
positions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.auth.sessions import Viewer
from dispatch.core.messages import (
    QUICK_REPLIES,
    SIGNALS,
    MessageRefused,
    clean_text,
    compose,
    may_message,
    message_crews,
    signal_pattern,
)
from dispatch.realtime.events import KIND_MESSAGE, KIND_SIGNAL, StoredEvent
from dispatch.realtime.visibility import frame_for, positions_for
from schemas.common import Role

NOW = datetime(2027, 3, 1, tzinfo=UTC)


def viewer(role: Role, user_id: str = "u1", crew_id: str | None = None) -> Viewer:
    return Viewer(user_id, user_id, role, crew_id, NOW, "h")


def test_a_quick_reply_alone_or_with_free_text() -> None:
    assert compose("on_scene", None, max_chars=280).text == "On scene"
    both = compose("need_backup", "  two   of them\r\n\r\n\r\n\r\nnear the gate ", max_chars=280)
    assert both.quick == "need_backup"
    assert both.text == "Need backup: two of them\n\nnear the gate"


@pytest.mark.parametrize(
    ("quick", "text", "field"),
    [
        (None, None, "text"),
        (None, " \t\n ", "text"),
        ("sing", "hi", "quick"),
        (None, "x" * 281, "text"),
    ],
)
def test_bad_messages_are_refused_naming_the_field(
    quick: str | None, text: str | None, field: str
) -> None:
    with pytest.raises(MessageRefused) as refused:
        compose(quick, text, max_chars=280)
    assert refused.value.field == field and refused.value.sentence.endswith(".")


@given(st.text(max_size=400))
def test_clean_text_never_keeps_control_characters_and_is_idempotent(raw: str) -> None:
    cleaned = clean_text(raw)
    assert not any(ord(c) < 32 and c != "\n" for c in cleaned)
    assert clean_text(cleaned) == cleaned
    assert cleaned == cleaned.strip()


def test_signal_codes_have_patterns_told_apart_by_feel() -> None:
    assert signal_pattern("help_close") == (120, 80, 120, 80, 120)
    assert len(set(SIGNALS.values())) == len(SIGNALS)
    with pytest.raises(MessageRefused):
        signal_pattern("call_me")
    assert "on_my_way" in QUICK_REPLIES


def test_who_may_write_on_an_alert() -> None:
    assert message_crews(["c1", "c2", "c1"], None) == ("c1", "c2")
    assert message_crews(["c1"], "c9") == ("c1", "c9")
    assert may_message(role="supervisor", crew_id=None, attached=[], help_crew_id=None)
    assert may_message(role="crew", crew_id="c1", attached=["c1"], help_crew_id=None)
    assert may_message(role="crew", crew_id="c9", attached=["c1"], help_crew_id="c9")
    assert not may_message(role="crew", crew_id="c2", attached=["c1"], help_crew_id=None)
    assert not may_message(role="officer", crew_id=None, attached=["c1"], help_crew_id=None)


def message_event() -> StoredEvent:
    return StoredEvent(7, KIND_MESSAGE, "a1", '{"text":"hi"}', None, ("c1",))


def test_a_message_event_goes_to_supervisors_and_the_alerts_crews_never_an_officer() -> None:
    event = message_event()
    assert (
        frame_for(viewer(Role.SUPERVISOR), event)
        == '{"type":"message","seq":7,"message":{"text":"hi"}}'
    )
    assert frame_for(viewer(Role.CREW, "u2", "c1"), event) is not None
    assert frame_for(viewer(Role.CREW, "u3", "c2"), event) is None
    # Even an officer named in the event by mistake gets nothing of it.
    named = StoredEvent(7, KIND_MESSAGE, "a1", "{}", "o1", ("c1",), ("o1",))
    assert frame_for(viewer(Role.OFFICER, "o1"), named) is None


def test_a_signal_goes_to_her_alone() -> None:
    event = StoredEvent(8, KIND_SIGNAL, "a1", '{"code":"help_close"}', None, (), ("o1",))
    assert frame_for(viewer(Role.OFFICER, "o1"), event) == (
        '{"type":"signal","seq":8,"signal":{"code":"help_close"}}'
    )
    assert frame_for(viewer(Role.OFFICER, "o2"), event) is None
    assert frame_for(viewer(Role.SUPERVISOR), event) is None
    assert frame_for(viewer(Role.CREW, "u2", "c1"), event) is None


def test_crews_on_one_alert_see_each_others_positions_and_nobody_else_does() -> None:
    frame = {"type": "position", "role": "crew", "subject_id": "c2", "lat": 1.0, "lon": 2.0}
    message = {"frame": frame, "alerts": {"a1": ["c1", "c2"]}}
    seen = positions_for(viewer(Role.CREW, "u1", "c1"), message)
    assert seen == [{**frame, "alert_id": "a1"}]
    assert positions_for(viewer(Role.CREW, "u2", "c2"), message) == []  # its own
    assert positions_for(viewer(Role.CREW, "u3", "c3"), message) == []
    assert positions_for(viewer(Role.OFFICER, "o1"), message) == []
    alone = {"frame": frame, "alerts": {}}
    assert positions_for(viewer(Role.CREW, "u1", "c1"), alone) == []
