"""Baseline: the schema of the last release without revisions (git dae7d3b).

A database that release made has these tables and no `alembic_version`: `dispatch db
upgrade` compares its tables with these, stamps it 0001 and upgrades it from here.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("base_seq", sa.Integer(), nullable=False),
        sa.Column("base_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "audit_row",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_row_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_row_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_row_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_row_object_id"), ["object_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_row_object_type"), ["object_type"], unique=False)

    op.create_table(
        "cluster_node",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "counter",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "crew",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("callsign", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("alert_id", sa.String(length=64), nullable=True),
        sa.Column("offer_id", sa.String(length=32), nullable=True),
        sa.Column("last_lat", sa.Float(), nullable=True),
        sa.Column("last_lon", sa.Float(), nullable=True),
        sa.Column("last_accuracy", sa.Float(), nullable=True),
        sa.Column("last_fix_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("crew", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crew_callsign"), ["callsign"], unique=True)
        batch_op.create_index(batch_op.f("ix_crew_state"), ["state"], unique=False)

    op.create_table(
        "crew_link",
        sa.Column("crew_id", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("crew_id", "node_id"),
    )
    with op.batch_alter_table("crew_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crew_link_node_id"), ["node_id"], unique=False)

    op.create_table(
        "event",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("officer_id", sa.String(length=32), nullable=True),
        sa.Column("crew_ids", sa.String(length=2000), nullable=False),
        sa.Column("user_ids", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "gazetteer_place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gazetteer_place", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gazetteer_place_lat"), ["lat"], unique=False)
        batch_op.create_index(batch_op.f("ix_gazetteer_place_name"), ["name"], unique=False)

    op.create_table(
        "operation",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployments", sa.Integer(), nullable=False),
        sa.Column("min_duration_min", sa.Integer(), nullable=False),
        sa.Column("max_duration_min", sa.Integer(), nullable=False),
        sa.Column("allowed_hours", sa.String(length=200), nullable=False),
        sa.Column("allowed_weekdays", sa.String(length=50), nullable=False),
        sa.Column("officer_ids", sa.Text(), nullable=False),
        sa.Column("crew_ids", sa.Text(), nullable=False),
        sa.Column("officers_per_deployment", sa.Integer(), nullable=False),
        sa.Column("crews_per_deployment", sa.Integer(), nullable=False),
        sa.Column("place_gap_h", sa.Float(), nullable=False),
        sa.Column("place_gap_min_h", sa.Float(), nullable=True),
        sa.Column("rest_h", sa.Float(), nullable=False),
        sa.Column("per_officer_per_day", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("figures", sa.Text(), nullable=True),
        sa.Column("warnings", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operation_name"), ["name"], unique=True)
        batch_op.create_index(batch_op.f("ix_operation_state"), ["state"], unique=False)

    op.create_table(
        "place",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("operation_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("route", sa.Text(), nullable=True),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("hourly", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("place", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_place_operation_id"), ["operation_id"], unique=False)

    op.create_table(
        "user",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("crew_id", sa.String(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_pin_hash", sa.String(), nullable=True),
        sa.Column("duress_pin_hash", sa.String(), nullable=True),
        sa.Column("pin_failures", sa.Integer(), nullable=True),
        sa.Column("pin_locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_secret", sa.String(), nullable=True),
        sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("recovery_hashes", sa.String(), nullable=True),
        sa.Column("second_step_hash", sa.String(length=64), nullable=True),
        sa.Column("second_step_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["crew_id"],
            ["crew.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_crew_id"), ["crew_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_username"), ["username"], unique=True)

    op.create_table(
        "alert",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("crews_needed", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_note", sa.String(length=500), nullable=True),
        sa.Column("close_reason", sa.String(length=500), nullable=True),
        sa.Column("deployment_id", sa.String(length=32), nullable=True),
        sa.Column("taken_by", sa.String(length=100), nullable=True),
        sa.Column("pressed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("phone_pressed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clock_offset_ms", sa.Integer(), nullable=True),
        sa.Column("press_clamped", sa.Boolean(), nullable=True),
        sa.Column("position_source", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_deployment_id"), ["deployment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_officer_id"), ["officer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_raised_at"), ["raised_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_state"), ["state"], unique=False)

    op.create_table(
        "deployment",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("operation_id", sa.String(), nullable=False),
        sa.Column("place_id", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("briefed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployment_ends_at"), ["ends_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deployment_operation_id"), ["operation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deployment_place_id"), ["place_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployment_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployment_state"), ["state"], unique=False)

    op.create_table(
        "sessiontoken",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("sessiontoken", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessiontoken_user_id"), ["user_id"], unique=False)

    op.create_table(
        "alertnote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("crew_id", sa.String(length=32), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alertnote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alertnote_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "alerttrack",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerttrack", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerttrack_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "deploymentmember",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("crew_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["crew_id"],
            ["crew.id"],
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deploymentmember", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deploymentmember_crew_id"), ["crew_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deploymentmember_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deploymentmember_user_id"), ["user_id"], unique=False)

    op.create_table(
        "offer",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("crew_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("eta_s", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("assignment_status", sa.String(length=16), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_scene_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_by", sa.String(length=32), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
        ),
        sa.ForeignKeyConstraint(
            ["crew_id"],
            ["crew.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_crew_id"), ["crew_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_state"), ["state"], unique=False)

    # The event counter every change numbers from (dispatch.storage.models.EVENT_SEQ).
    counter = sa.table("counter", sa.column("name", sa.String()), sa.column("value", sa.Integer()))
    op.bulk_insert(counter, [{"name": "event_seq", "value": 0}])


def downgrade() -> None:
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offer_state"))
        batch_op.drop_index(batch_op.f("ix_offer_crew_id"))
        batch_op.drop_index(batch_op.f("ix_offer_alert_id"))

    op.drop_table("offer")
    with op.batch_alter_table("deploymentmember", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deploymentmember_user_id"))
        batch_op.drop_index(batch_op.f("ix_deploymentmember_deployment_id"))
        batch_op.drop_index(batch_op.f("ix_deploymentmember_crew_id"))

    op.drop_table("deploymentmember")
    with op.batch_alter_table("alerttrack", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerttrack_alert_id"))

    op.drop_table("alerttrack")
    with op.batch_alter_table("alertnote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alertnote_alert_id"))

    op.drop_table("alertnote")
    with op.batch_alter_table("sessiontoken", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessiontoken_user_id"))

    op.drop_table("sessiontoken")
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_state"))
        batch_op.drop_index(batch_op.f("ix_deployment_starts_at"))
        batch_op.drop_index(batch_op.f("ix_deployment_place_id"))
        batch_op.drop_index(batch_op.f("ix_deployment_operation_id"))
        batch_op.drop_index(batch_op.f("ix_deployment_ends_at"))

    op.drop_table("deployment")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_state"))
        batch_op.drop_index(batch_op.f("ix_alert_raised_at"))
        batch_op.drop_index(batch_op.f("ix_alert_officer_id"))
        batch_op.drop_index(batch_op.f("ix_alert_deployment_id"))

    op.drop_table("alert")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_username"))
        batch_op.drop_index(batch_op.f("ix_user_crew_id"))

    op.drop_table("user")
    with op.batch_alter_table("place", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_operation_id"))

    op.drop_table("place")
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operation_state"))
        batch_op.drop_index(batch_op.f("ix_operation_name"))

    op.drop_table("operation")
    with op.batch_alter_table("gazetteer_place", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gazetteer_place_name"))
        batch_op.drop_index(batch_op.f("ix_gazetteer_place_lat"))

    op.drop_table("gazetteer_place")
    op.drop_table("event")
    with op.batch_alter_table("crew_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crew_link_node_id"))

    op.drop_table("crew_link")
    with op.batch_alter_table("crew", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crew_state"))
        batch_op.drop_index(batch_op.f("ix_crew_callsign"))

    op.drop_table("crew")
    op.drop_table("counter")
    op.drop_table("cluster_node")
    with op.batch_alter_table("audit_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_row_object_type"))
        batch_op.drop_index(batch_op.f("ix_audit_row_object_id"))
        batch_op.drop_index(batch_op.f("ix_audit_row_at"))
        batch_op.drop_index(batch_op.f("ix_audit_row_actor"))
        batch_op.drop_index(batch_op.f("ix_audit_row_action"))

    op.drop_table("audit_row")
    op.drop_table("audit_chain")
