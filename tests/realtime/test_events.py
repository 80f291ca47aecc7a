"""A stored event's payload is parsed once, whoever reads it, and the parse changes
nothing about the event."""

from __future__ import annotations

import json

from dispatch.realtime.events import KIND_ALERT, StoredEvent

PAYLOAD = json.dumps({"id": "a1", "state": "offered", "crews": []})


def _event() -> StoredEvent:
    return StoredEvent(7, KIND_ALERT, "a1", PAYLOAD, "u1", ("c1",))


def test_the_view_is_the_payload_parsed_once() -> None:
    event = _event()
    first = event.view()
    assert first == json.loads(PAYLOAD)
    assert event.view() is first  # the same parse for every reader


def test_a_parsed_event_is_still_equal_to_one_not_parsed_and_travels_the_same() -> None:
    parsed, fresh = _event(), _event()
    parsed.view()
    assert parsed == fresh and hash(parsed) == hash(fresh)
    assert parsed.to_json() == fresh.to_json()
    assert StoredEvent.from_json(parsed.to_json()) == fresh
    assert "_view" not in repr(parsed)
