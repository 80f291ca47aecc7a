"""An alert as a CAP 1.2 message: pure, no event loop. Every message is validated against
the OASIS CAP 1.2 schema; the mapping (message type, urgency, severity, certainty, area)
and what personal data stays out are checked field by field."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.cap.message import cap_message
from dispatch.config import CapSettings, ConfigError, load_settings
from dispatch.usecases.alerts import DURESS_NOTE
from schemas.common import AlertCategory, CrewMode, Outcome
from schemas.views import AlertState, AlertView, AssignedCrew, AssignmentStatus
from tests.cap.support import NS, RAISED, cap_schema, make_view, params, text

CAP = CapSettings(
    sender="dispatch@hereford.police.example",
    sender_name="Hereford dispatch",
    restriction="Police only: OFFICIAL-SENSITIVE",
    addresses=["control-room", "west mercia ops"],
    web_link="https://dispatch.example.org/console#alert={id}",
)
# CAP 1.2, 3.2.4: "lat,lon radius", WGS 84 decimal degrees, radius in kilometres.
CIRCLE = re.compile(r"^-?\d{1,2}\.\d+,-?\d{1,3}\.\d+ \d+(\.\d+)?$")


def message_of(view: AlertView, cap: CapSettings = CAP) -> ET.Element:
    message = cap_message(view, cap)
    cap_schema().validate(message.xml.decode("utf-8"))  # raises on any departure
    return ET.fromstring(message.xml)


def crew_on(status: AssignmentStatus) -> AssignedCrew:
    return AssignedCrew(
        crew_id="c-77",
        offer_id="o-1",
        callsign="BRAVO-2",
        mode=CrewMode.CAR,
        status=status,
        eta_s=120.0,
        accepted_at=RAISED + timedelta(seconds=20),
    )


def test_an_alert_as_raised_is_a_restricted_actual_alert_from_the_configured_sender() -> None:
    root = message_of(make_view(category=AlertCategory.FOLLOWING))

    assert text(root, "cap:identifier") == "alert-a1b2c3d4e5f6"
    assert text(root, "cap:sender") == "dispatch@hereford.police.example"
    assert text(root, "cap:sent") == "2026-11-28T20:15:07+00:00"
    assert text(root, "cap:status") == "Actual"
    assert text(root, "cap:msgType") == "Alert"
    assert text(root, "cap:scope") == "Restricted"
    assert text(root, "cap:restriction") == "Police only: OFFICIAL-SENSITIVE"
    assert text(root, "cap:addresses") == 'control-room "west mercia ops"'
    assert root.find("cap:references", NS) is None
    assert text(root, "cap:incidents") == "a1b2c3d4e5f6"
    assert text(root, "cap:info/cap:category") == "Security"
    assert text(root, "cap:info/cap:event") == "Officer requests assistance: following"
    assert text(root, "cap:info/cap:urgency") == "Immediate"
    assert text(root, "cap:info/cap:severity") == "Moderate"
    assert text(root, "cap:info/cap:certainty") == "Observed"
    assert text(root, "cap:info/cap:senderName") == "Hereford dispatch"
    assert (
        text(root, "cap:info/cap:web") == "https://dispatch.example.org/console#alert=a1b2c3d4e5f6"
    )
    assert text(root, "cap:info/cap:area/cap:circle") == "52.05650,-2.71600 0.050"


@pytest.mark.parametrize(
    ("changes", "severity"),
    [({}, "Moderate"), ({"urgent": True}, "Severe"), ({"urgent": True, "duress": True}, "Extreme")],
)
def test_urgent_is_severe_and_duress_extreme(changes: dict[str, bool], severity: str) -> None:
    root = message_of(make_view(**changes))

    assert text(root, "cap:info/cap:urgency") == "Immediate"
    assert text(root, "cap:info/cap:severity") == severity
    assert params(root)["duress"] == ("true" if changes.get("duress") else "false")


def test_a_later_state_is_an_update_that_references_the_first_message() -> None:
    later = RAISED + timedelta(seconds=40, microseconds=123)
    root = message_of(
        make_view(
            state=AlertState.ON_SCENE,
            updated_at=later,
            crews=[crew_on(AssignmentStatus.ON_SCENE)],
        )
    )

    assert text(root, "cap:msgType") == "Update"
    assert text(root, "cap:identifier") == "alert-a1b2c3d4e5f6-20261128T201547250123Z"
    assert text(root, "cap:sent") == "2026-11-28T20:15:47+00:00"
    assert text(root, "cap:references") == (
        "dispatch@hereford.police.example,alert-a1b2c3d4e5f6,2026-11-28T20:15:07+00:00"
    )
    assert params(root)["dispatchState"] == "on_scene"
    assert params(root)["crewsAttached"] == "1"


def test_a_cancelled_alert_is_a_cancel_and_all_clear() -> None:
    root = message_of(
        make_view(
            state=AlertState.CANCELLED,
            updated_at=RAISED + timedelta(minutes=2),
            closed_by="officer",
        )
    )

    assert text(root, "cap:msgType") == "Cancel"
    assert text(root, "cap:references") is not None
    assert text(root, "cap:info/cap:responseType") == "AllClear"
    assert text(root, "cap:info/cap:urgency") == "Past"
    assert text(root, "cap:info/cap:certainty") == "Unlikely"


def test_a_resolved_alert_is_an_update_with_its_outcome() -> None:
    root = message_of(
        make_view(
            state=AlertState.RESOLVED,
            updated_at=RAISED + timedelta(minutes=9),
            urgent=True,
            outcome=Outcome.ARREST,
            outcome_note="Male, 30s, arrested for harassment",
            closed_by="supervisor",
            close_reason="Bravo 2 by radio",
            taken_by="Sgt Jane Doe",
        )
    )

    assert text(root, "cap:msgType") == "Update"
    assert text(root, "cap:info/cap:responseType") == "AllClear"
    assert text(root, "cap:info/cap:urgency") == "Past"
    assert text(root, "cap:info/cap:severity") == "Severe"
    assert params(root)["outcome"] == "arrest"
    assert params(root)["closedBy"] == "supervisor"


def test_the_circle_is_at_least_the_configured_radius_and_grows_with_the_accuracy() -> None:
    near = message_of(make_view(accuracy=None))
    wide = message_of(make_view(accuracy=240.0))

    assert text(near, "cap:info/cap:area/cap:circle") == "52.05650,-2.71600 0.050"
    assert text(wide, "cap:info/cap:area/cap:circle") == "52.05650,-2.71600 0.240"


def test_no_name_no_user_id_no_crew_callsign_nor_anyone_s_words_go_out() -> None:
    view = make_view(
        state=AlertState.RESOLVED,
        updated_at=RAISED + timedelta(minutes=9),
        note="Tall man, red jacket, reg AB12 CDE",
        outcome=Outcome.ARREST,
        outcome_note="Arrested John Smith",
        close_reason="closed by a supervisor: Jane radioed",
        taken_by="Sgt Jane Doe",
        crews=[crew_on(AssignmentStatus.CLEARED)],
    )
    body = cap_message(view, CAP).xml.decode("utf-8")

    for personal in ("u-officer-7", "BRAVO-2", "c-77", "Sgt Jane", "John Smith", "red jacket"):
        assert personal not in body


def test_her_note_goes_only_when_configured_and_without_the_duress_marker() -> None:
    cap = CAP.model_copy(update={"include_note": True})
    root = message_of(make_view(duress=True, note=DURESS_NOTE + "reg AB12 CDE"), cap)

    assert params(root)["officerNote"] == "reg AB12 CDE"


@settings(max_examples=150, deadline=None)
@given(
    state=st.sampled_from(list(AlertState)),
    urgent=st.booleans(),
    duress=st.booleans(),
    category=st.none() | st.sampled_from(list(AlertCategory)),
    outcome=st.none() | st.sampled_from(list(Outcome)),
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    accuracy=st.none() | st.floats(0, 100_000),
    later=st.integers(0, 10**9),
    note=st.none() | st.text(max_size=60),
    alert_id=st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True),
)
def test_every_alert_makes_a_valid_cap_message(
    state: AlertState,
    urgent: bool,
    duress: bool,
    category: AlertCategory | None,
    outcome: Outcome | None,
    lat: float,
    lon: float,
    accuracy: float | None,
    later: int,
    note: str | None,
    alert_id: str,
) -> None:
    view = make_view(
        id=alert_id,
        state=state,
        urgent=urgent,
        duress=duress,
        category=category,
        outcome=outcome,
        lat=lat,
        lon=lon,
        accuracy=accuracy,
        updated_at=RAISED + timedelta(microseconds=later),
        note=note,
    )
    root = message_of(view, CAP.model_copy(update={"include_note": True}))

    circle = text(root, "cap:info/cap:area/cap:circle")
    assert circle is not None and CIRCLE.match(circle), circle
    assert text(root, "cap:identifier") and " " not in (text(root, "cap:identifier") or "")


def test_position_unknown_has_an_area_without_a_made_up_point() -> None:
    if "position_unknown" not in AlertView.model_fields:
        pytest.skip("alerts without a position are not in this tree")
    root = message_of(make_view(lat=None, lon=None, position_unknown=True))

    assert root.find("cap:info/cap:area/cap:circle", NS) is None
    assert "unknown" in (text(root, "cap:info/cap:area/cap:areaDesc") or "").lower()
    assert params(root)["positionKnown"] == "false"


def test_the_webhook_needs_its_secret_and_the_sender_no_spaces() -> None:
    with pytest.raises(ConfigError, match=r"cap.*webhook_secret"):
        load_settings(env={}, overrides={"cap.webhook_url": "https://receiver.example/cap"})
    with pytest.raises(ConfigError, match=r"cap\.sender"):
        load_settings(env={}, overrides={"cap.sender": "two words"})
    env = {"DISPATCH_CAP_ADDRESSES": "control-room, west mercia ops"}
    assert load_settings(env=env).cap.addresses == ["control-room", "west mercia ops"]


def test_the_schema_refuses_what_cap_does_not_allow() -> None:
    """The validation above can fail: a scope CAP does not know is refused."""
    xml = cap_message(make_view(), CAP).xml.decode("utf-8")
    wrong = xml.replace("<scope>Restricted</scope>", "<scope>Secret</scope>")

    assert cap_schema().is_valid(xml)
    assert not cap_schema().is_valid(wrong)
