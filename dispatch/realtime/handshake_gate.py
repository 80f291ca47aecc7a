"""New connections start reading a few at a time, so that a reconnect storm cannot
hold the event loop for seconds.

When thousands of phones reconnect at once, every one of their upgrade requests is
ready to read in the same turn of the loop, and the loop parses and answers them all
before it runs anything else: an alert raised in that moment waited behind a turn of
over two seconds. Here, at most `per_turn` new connections are let read in one turn;
the others are paused (`transport.pause_reading()`: the bytes wait in the kernel) and
let read in arrival order on the following turns. A turn so stays a few milliseconds
long, alerts and positions run between two of them, and the storm takes the same CPU.

`GatedHttpProtocol` is uvicorn's HTTP protocol with the gate at `connection_made`;
`uvicorn_config` passes it as `http=` with the gate bound.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class HandshakeGate:
    def __init__(self, per_turn: int) -> None:
        assert per_turn >= 1
        self.per_turn = per_turn
        self.waiting: deque[asyncio.Transport] = deque()
        self.held = 0  # connections paused at least once (a metric)
        self._this_turn = 0
        self._turn_scheduled = False

    def arrived(self, transport: asyncio.Transport) -> None:
        """A new connection: let it read now, or pause it until a later turn."""
        if self._this_turn < self.per_turn and not self.waiting:
            self._this_turn += 1
        else:
            transport.pause_reading()
            self.waiting.append(transport)
            self.held += 1
        self._next_turn_soon()

    def _next_turn_soon(self) -> None:
        if not self._turn_scheduled:
            self._turn_scheduled = True
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        """Runs once per turn while there is anything to count: lets the next few read."""
        self._turn_scheduled = False
        self._this_turn = 0
        while self.waiting and self._this_turn < self.per_turn:
            transport = self.waiting.popleft()
            if transport.is_closing():
                continue
            transport.resume_reading()
            self._this_turn += 1
        if self.waiting or self._this_turn:
            self._next_turn_soon()


class GatedHttpProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, whose new connections pass the gate first."""

    def __init__(self, *args: Any, gate: HandshakeGate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = gate

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._gate.arrived(transport)
