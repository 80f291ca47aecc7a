"""The frame parser, fuzzed: whatever a client sends, the answer is a message or a
`FrameError` with a stable code, never another exception (pure: no event loop)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.socket_api import frames
from schemas import client as m
from schemas.errors import ErrorCode

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)
FIELDS = sorted({name for model in m.CLIENT_MESSAGES.values() for name in model.model_fields})


def decode(text: str) -> m.ClientMessage | frames.FrameError:
    """The exact path (load, validate), checked against the one-pass `parse` the server
    tries first: the same message, or None where the exact path finds an error."""
    fast = frames.parse(text)
    try:
        data = frames.load(text)
        message = frames.validate(data["type"], text, frames.message_id(data))
    except frames.FrameError as exc:
        assert exc.code in set(ErrorCode) and exc.message
        assert fast is None, (text, fast)
        return exc
    assert fast is None or fast == message, (text, fast, message)
    return message


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(sorted(m.CLIENT_MESSAGES)),
    body=st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6),
    msg_id=st.one_of(st.text(max_size=80), st.integers(), st.none()),
)
def test_every_message_type_with_any_fields_is_a_message_or_a_clear_error(
    kind: str, body: dict[str, Any], msg_id: object
) -> None:
    text = json.dumps({**body, "type": kind, "id": msg_id})
    result = decode(text)
    if isinstance(result, frames.FrameError):
        assert result.msg_id == (msg_id[:64] if isinstance(msg_id, str) else None)
    else:
        assert result.type == kind


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | JSON.map(json.dumps))
def test_any_text_is_a_message_or_a_clear_error(text: str) -> None:
    decode(text)


def test_deep_nesting_is_invalid_with_a_sentence_not_a_recursion_error() -> None:
    for text in ("[" * 60_000, '{"type":"sync","a":' + "[" * 30_000 + "]" * 30_000 + "}"):
        result = decode(text)
        assert isinstance(result, frames.FrameError)
        assert result.code == ErrorCode.INVALID and "levels deep" in result.message


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"type": "sync", "id": "1", "last_seq": None, "x": "[{" * 500})
    assert frames.nesting_depth(text) == 1
    result = decode(text)
    assert not (isinstance(result, frames.FrameError) and "levels" in result.message)


def test_nesting_up_to_the_limit_is_parsed() -> None:
    text = '{"type":"sync","id":"1","last_seq":null,"x":' + "[" * 31 + "]" * 31 + "}"
    assert frames.nesting_depth(text) == frames.MAX_DEPTH
    assert frames.load(text)["type"] == "sync"


def test_a_repeated_type_is_read_as_the_exact_path_reads_it_the_last() -> None:
    """The role is checked against the parsed message's type: it must be the type the
    exact path would have seen."""
    for text in (
        '{"type":"sync","id":"1","type":"duty","on":true}',
        '{"type":"duty","id":"1","on":true,"type":"sync"}',
    ):
        fast = frames.parse(text)
        assert fast is None or fast.type == json.loads(text)["type"]
    assert isinstance(frames.parse('{"type":"sync","id":"1","type":"duty","on":true}'), m.Duty)


def test_the_one_pass_parse_is_as_strict_as_the_exact_path() -> None:
    position = {"lat": 51.5, "lon": -0.12, "accuracy": 5.0, "at": "2026-11-29T20:00:00Z"}
    good = json.dumps({"type": "position", "id": "m1", "position": position})
    assert isinstance(decode(good), m.PositionUpdate) and frames.parse(good) == decode(good)
    for lax in (
        '{"type":"sync","id":"1","last_seq":"5"}',
        '{"type":"duty","id":"1","on":"yes"}',
        json.dumps({"type": "position", "id": "m1", "position": {**position, "lat": "51.5"}}),
        json.dumps({"type": "position", "id": "m1", "position": {**position, "at": 1764446400}}),
    ):
        assert frames.parse(lax) is None and isinstance(decode(lax), frames.FrameError), lax
