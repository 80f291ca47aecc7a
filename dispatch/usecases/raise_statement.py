"""A new alert and its first offers in one PostgreSQL statement (one round trip).

The statement-by-statement raise (`Offering.first_step`) costs six round trips on
asyncpg (BEGIN, claim, alert, offer, audit and events, COMMIT), each a turn of a busy
event loop, and holds the crews' and the audit chain's row locks across those turns:
under a burst, alerts queued behind one another's turns. Here the raise decided in
memory (the crews ranked and named from what this process knows) is written by one
statement that runs as its own transaction:

1. `wanted` / `claimed`: each crew is claimed only if its row still says what memory
   said (available, on no alert, the same callsign and mode);
2. `new_alert`: the alert, only if every crew was claimed, unless its id is stored;
3. `new_offers`: the offers, only if the alert was stored by this statement;
4. the audit row and the events (`numbering.audit_then_events_ctes`), only if every
   offer was stored;
5. the final row: the events' last number, and a division by zero unless every event
   was stored, which aborts the statement: nothing is kept.

Each step reads the one before, so the locks are taken in the core's order (the
officer's row, crews, alert, audit chain, counter) and a lost claim touches nothing
after it. The officer's row is share-locked first, as the statement-by-statement
path's alert insert does by its foreign key: checked at the end of this statement, the
key's lock would come after the counter's, against a supervisor's edit of her account
(her row, then the audit chain). The caller
then takes the statement-by-statement path, which answers a stored id, passes over a
crew another process took, and escalates when no crew is free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, String, TextClause, bindparam, text

from dispatch.realtime.events import PendingEvent
from dispatch.usecases.numbering import AUDIT_TYPES, audit_then_events_ctes, tail_params
from dispatch.usecases.statements import ALERTS, OFFERS
from schemas.common import CrewMode
from schemas.views import CrewState


@cache
def statement(claims: int) -> TextClause:
    """The statement for a raise that claims `claims` crews (>= 1), built once each."""
    assert claims >= 1
    wanted = ", ".join(
        f"(:c{i}_crew, :c{i}_offer, :c{i}_callsign, :c{i}_mode)" for i in range(claims)
    )
    alert_cols = [c.name for c in ALERTS.columns]
    offer_cols = [c.name for c in OFFERS.columns]
    offers = ", ".join(
        "(" + ", ".join(f":o{i}_{c}" for c in offer_cols) + ")" for i in range(claims)
    )
    sql = f"""
WITH officer AS (
  SELECT 1 FROM "user" WHERE id = :a_officer_id FOR KEY SHARE
), wanted (crew_id, offer_id, callsign, mode) AS (VALUES {wanted}),
claimed AS (
  UPDATE crew SET state = :offered, offer_id = wanted.offer_id, updated_at = :now
  FROM wanted
  WHERE crew.id = wanted.crew_id AND crew.state = :available AND crew.alert_id IS NULL
    AND crew.callsign = wanted.callsign AND crew.mode = wanted.mode
    AND EXISTS (SELECT 1 FROM officer)
  RETURNING crew.id
), new_alert AS (
  INSERT INTO alert ({", ".join(alert_cols)})
  SELECT {", ".join(f":a_{c}" for c in alert_cols)}
  WHERE (SELECT count(*) FROM claimed) = {claims}
  ON CONFLICT (id) DO NOTHING
  RETURNING id
), new_offers AS (
  INSERT INTO offer ({", ".join(offer_cols)})
  SELECT * FROM (VALUES {offers}) AS v
  WHERE EXISTS (SELECT 1 FROM new_alert)
  RETURNING id
), {audit_then_events_ctes(f"(SELECT count(*) FROM new_offers) = {claims}")}
SELECT (SELECT value FROM n), 1 / ((SELECT count(*) FROM e) = :count)::int
"""
    types: list[BindParameter[Any]] = [*AUDIT_TYPES]
    types += [bindparam(f"a_{c.name}", type_=c.type) for c in ALERTS.columns]
    for i in range(claims):
        types += [bindparam(f"o{i}_{c.name}", type_=c.type) for c in OFFERS.columns]
        types += [bindparam(f"c{i}_{k}", type_=String()) for k in CLAIM_KEYS]
    return text(sql).bindparams(*types)


CLAIM_KEYS = ("crew", "offer", "callsign", "mode")


def params(
    *,
    now: datetime,
    alert: Mapping[str, Any],  # every column of the new alert
    offers: Sequence[Mapping[str, Any]],  # every column of each offer
    names: Sequence[tuple[str, CrewMode]],  # each offer's crew: callsign and mode
    audit: Mapping[str, Any],  # `chain.row_fields`
    pending: Sequence[PendingEvent],
) -> dict[str, Any]:
    out = tail_params(now, audit, pending)
    out.update(offered=CrewState.OFFERED.value, available=CrewState.AVAILABLE.value)
    out.update({f"a_{k}": v for k, v in alert.items()})
    for i, (offer, (callsign, mode)) in enumerate(zip(offers, names, strict=True)):
        out.update({f"o{i}_{k}": v for k, v in offer.items()})
        out.update(
            {
                f"c{i}_crew": offer["crew_id"],
                f"c{i}_offer": offer["id"],
                f"c{i}_callsign": callsign,
                f"c{i}_mode": mode.value,
            }
        )
    return out
