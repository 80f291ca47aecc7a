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
    try:
        data = frames.load(text)
        return frames.validate(data["type"], text, frames.message_id(data))
    except frames.FrameError as exc:
        assert exc.code in set(ErrorCode) and exc.message
        return exc


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
