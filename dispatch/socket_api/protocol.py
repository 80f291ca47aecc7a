"""Client messages: parse, check the role, run the use case, answer ack or error.

A registry maps each `type` to a handler and the roles that may send it.
Nothing a client sends can raise out of here: every failure is an error frame.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dispatch.core.lifecycle import IllegalTransition
from dispatch.logs import failure
from dispatch.realtime.connection import Connection
from dispatch.realtime.visibility import officer_state
from dispatch.socket_api import frames
from dispatch.socket_api.sync import sync
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.dispatcher import Dispatcher
from schemas import client as m
from schemas.common import Role
from schemas.errors import ErrorCode
from schemas.server import Error

log = logging.getLogger("dispatch.protocol")

Result = dict[str, Any]
Handler = Callable[[Dispatcher, Connection, Any], Awaitable[Result]]

OFFICER, CREW, SUPERVISOR = Role.OFFICER, Role.CREW, Role.SUPERVISOR


@dataclass(frozen=True)
class Route:
    handler: Handler
    roles: frozenset[Role]
    refusal: str


HANDLERS: dict[str, Route] = {}


def handles(
    model: type[m.ClientMessage], *roles: Role, refusal: str = ""
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        kind = model.model_fields["type"].default
        who = " or ".join(("an " if r.value[0] in "aeiou" else "a ") + r.value for r in roles)
        HANDLERS[kind] = Route(fn, frozenset(roles), refusal or f"Only {who} may send {kind}.")
        return fn

    return register


@handles(m.Sync, OFFICER, CREW, SUPERVISOR)
async def _sync(d: Dispatcher, c: Connection, msg: m.Sync) -> Result:
    result = await sync(d, c, msg.last_seq)
    # The server's clock as it answers: a phone measures its own clock's offset by it
    # (server_time less the middle of the round trip), for the press time of an alert.
    at = d.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**result, "server_time": at}


@handles(m.PositionUpdate, OFFICER, CREW)
async def _position(d: Dispatcher, c: Connection, msg: m.PositionUpdate) -> Result:
    if c.viewer.role == OFFICER:
        await d.positions.officer_position(c.viewer, msg.position)
    else:
        await d.positions.crew_position(c.viewer, msg.position)
    return {}


@handles(m.AlertRaise, OFFICER, refusal="Only an officer may raise an alert.")
async def _raise(d: Dispatcher, c: Connection, msg: m.AlertRaise) -> Result:
    view, created = await d.alerts.raise_alert(c.viewer, msg)
    if view.duress:  # a resend after her duress PIN: to her it stays cancelled
        return {"alert_id": view.id, "state": "cancelled", "status": "cancelled", "created": False}
    state = officer_state(view.state)
    return {"alert_id": view.id, "state": state, "status": view.status, "created": created}


@handles(m.AlertDetail, OFFICER)
async def _detail(d: Dispatcher, c: Connection, msg: m.AlertDetail) -> Result:
    view = await d.alerts.alert_detail(c.viewer, msg)
    return {"alert_id": view.id, "state": officer_state(view.state)}


@handles(m.AlertEscalate, OFFICER)
async def _escalate(d: Dispatcher, c: Connection, msg: m.AlertEscalate) -> Result:
    view = await d.alerts.escalate_alert(c.viewer, msg.alert_id)
    state = officer_state(view.state)
    return {"alert_id": view.id, "state": state, "crews_needed": view.crews_needed}


@handles(m.AlertCancel, OFFICER, SUPERVISOR)
async def _cancel(d: Dispatcher, c: Connection, msg: m.AlertCancel) -> Result:
    cancel = d.supervision.cancel_alert if c.viewer.role == SUPERVISOR else d.alerts.cancel_alert
    view = await cancel(c.viewer, msg)
    state = view.state if c.viewer.role == SUPERVISOR else officer_state(view.state)
    return {"alert_id": view.id, "state": state}


@handles(m.Duty, CREW)
async def _duty(d: Dispatcher, c: Connection, msg: m.Duty) -> Result:
    view = await d.crews.set_duty(c.viewer, msg.on)
    return {"crew_id": view.id, "state": view.state}


@handles(m.OfferAccept, CREW)
async def _accept(d: Dispatcher, c: Connection, msg: m.OfferAccept) -> Result:
    view = await d.crews.accept_offer(c.viewer, msg.offer_id)
    return {"offer_id": view.id, "alert_id": view.alert_id, "state": view.state}


@handles(m.OfferDecline, CREW)
async def _decline(d: Dispatcher, c: Connection, msg: m.OfferDecline) -> Result:
    view = await d.crews.decline_offer(c.viewer, msg.offer_id, msg.reason)
    return {"offer_id": view.id, "state": view.state}


@handles(m.AssignmentUpdate, CREW)
async def _status(d: Dispatcher, c: Connection, msg: m.AssignmentUpdate) -> Result:
    view = await d.alerts.assignment_status(c.viewer, msg)
    return {"alert_id": view.id, "state": view.state}


@handles(m.AlertTake, SUPERVISOR)
async def _take(d: Dispatcher, c: Connection, msg: m.AlertTake) -> Result:
    view = await d.supervision.take_alert(c.viewer, msg.alert_id)
    return {"alert_id": view.id, "taken_by": view.taken_by}


@handles(m.AlertAssign, SUPERVISOR)
async def _assign(d: Dispatcher, c: Connection, msg: m.AlertAssign) -> Result:
    view = await d.supervision.assign_by_hand(c.viewer, msg)
    return {"alert_id": view.id, "state": view.state}


@handles(m.OfferWithdraw, SUPERVISOR)
async def _withdraw(d: Dispatcher, c: Connection, msg: m.OfferWithdraw) -> Result:
    view = await d.supervision.withdraw(c.viewer, msg)
    return {"alert_id": view.id, "state": view.state}


@handles(m.AlertClose, SUPERVISOR)
async def _close(d: Dispatcher, c: Connection, msg: m.AlertClose) -> Result:
    view = await d.supervision.close_by_supervisor(c.viewer, msg)
    return {"alert_id": view.id, "state": view.state}


@handles(m.AlertNoteAdd, SUPERVISOR)
async def _note(d: Dispatcher, c: Connection, msg: m.AlertNoteAdd) -> Result:
    await d.supervision.add_note(c.viewer, msg.alert_id, msg.text)
    return {"alert_id": msg.alert_id}


# -- incidents: messages, the officer's signal, a crew's call for help, drills ----------


@handles(m.MessageSend, SUPERVISOR, CREW, refusal="Officers do not send incident messages.")
async def _message(d: Dispatcher, c: Connection, msg: m.MessageSend) -> Result:
    view = await d.messages.send(c.viewer, msg)
    return {"alert_id": view.alert_id, "message_id": view.id}


@handles(m.OfficerSignal, SUPERVISOR)
async def _signal(d: Dispatcher, c: Connection, msg: m.OfficerSignal) -> Result:
    view = await d.messages.signal(c.viewer, msg)
    return {"alert_id": view.alert_id, "code": view.code}


@handles(m.CrewHelp, CREW, refusal="Only a crew may call for a crew's help.")
async def _crew_help(d: Dispatcher, c: Connection, msg: m.CrewHelp) -> Result:
    view, created = await d.alerts.crew_help(c.viewer, msg)
    return {"alert_id": view.id, "state": view.state, "created": created}


@handles(m.AlertExercise, SUPERVISOR)
async def _exercise(d: Dispatcher, c: Connection, msg: m.AlertExercise) -> Result:
    view = await d.messages.mark_exercise(c.viewer, msg)
    return {"alert_id": view.id, "exercise": view.exercise}


# -- officer welfare: check-ins, the escort timer ---------------------------------------


@handles(m.CheckIn, OFFICER)
async def _checkin(d: Dispatcher, c: Connection, msg: m.CheckIn) -> Result:
    view = await d.welfare.checkin(c.viewer)
    return view.model_dump(mode="json")


@handles(m.WelfareState, OFFICER)
async def _welfare_state(d: Dispatcher, c: Connection, msg: m.WelfareState) -> Result:
    view = await d.welfare.state(c.viewer)
    return view.model_dump(mode="json")


@handles(m.EscortStart, OFFICER)
async def _escort_start(d: Dispatcher, c: Connection, msg: m.EscortStart) -> Result:
    view = await d.welfare.escort_start(c.viewer, msg)
    return view.model_dump(mode="json")


@handles(m.EscortStop, OFFICER)
async def _escort_stop(d: Dispatcher, c: Connection, msg: m.EscortStop) -> Result:
    view = await d.welfare.escort_stop(c.viewer, msg.alert_id)
    return view.model_dump(mode="json")


def ack(msg_id: str, result: Result) -> str:
    """The ack frame (`schemas.server.Ack`), written directly: every position gets one."""
    return f'{{"type":"ack","id":{json.dumps(msg_id)},"result":{json.dumps(result)}}}'


def _error(msg_id: str | None, code: ErrorCode, message: str) -> str:
    return Error(id=msg_id, code=code, message=message).model_dump_json()


def _route(conn: Connection, kind: str, msg_id: str | None) -> Route | None:
    """The handler of `kind`, if this connection's role may send it."""
    route = HANDLERS.get(kind)
    if route is not None and conn.viewer.role not in route.roles:
        raise frames.FrameError(ErrorCode.FORBIDDEN, route.refusal, msg_id)
    return route


async def handle(d: Dispatcher, conn: Connection, text: str) -> None:
    """Answer one client frame with an ack or an error frame (`Connection.reply`: the
    caller sends it, `send_now`, before it reads again)."""
    try:
        parsed = frames.parse(text)
        if parsed is None:  # not a valid message: find out exactly why
            data = frames.load(text)
            kind, msg_id = data["type"], frames.message_id(data)
            route = _route(conn, kind, msg_id)
            msg = frames.validate(kind, text, msg_id)
        else:
            kind, msg = parsed.type, parsed
            route = _route(conn, kind, msg.id)
    except frames.FrameError as exc:
        conn.reply(_error(exc.msg_id, exc.code, exc.message))
        return
    assert route is not None  # every message type has a handler
    try:
        result = await route.handler(d, conn, msg)
    except UseCaseError as exc:
        conn.reply(_error(msg.id, exc.code, exc.message))
    except IllegalTransition as exc:
        conn.reply(_error(msg.id, ErrorCode.ILLEGAL_TRANSITION, str(exc).capitalize() + "."))
    except Exception as exc:
        log.error("handler for %s failed: %s", kind, failure(exc))
        conn.reply(_error(msg.id, ErrorCode.INTERNAL, "The server could not do that; try again."))
    else:
        conn.reply(ack(msg.id, result))
