"""Welfare (check-ins, escort timers, silent phones), incidents (messages, drills, crews'
calls for help) and the public's reports: their tables, and the columns they add to
alerts and operations. Rows already there become real (not exercise) alerts raised by
their officer, and real operations without check-ins.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:39:49.693015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "public_report",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("vehicle_reg", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("duplicate_of", sa.String(length=32), nullable=True),
        sa.Column("status_by", sa.String(length=32), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("public_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_public_report_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_public_report_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "welfare_checkin",
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("officer_id", sa.String(length=32), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerted_due", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("deployment_id", "officer_id"),
    )
    op.create_table(
        "welfare_escort",
        sa.Column("officer_id", sa.String(length=32), nullable=False),
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("officer_id"),
        sa.UniqueConstraint("alert_id"),
    )
    with op.batch_alter_table("welfare_escort", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_welfare_escort_due_at"), ["due_at"], unique=False)

    op.create_table(
        "welfare_heard",
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("heard_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("fix_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject"),
    )
    op.create_table(
        "welfare_warning",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "public_report_contact",
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["public_report.id"],
        ),
        sa.PrimaryKeyConstraint("report_id"),
    )
    op.create_table(
        "incident_message",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("crew_id", sa.String(length=32), nullable=True),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("quick", sa.String(length=32), nullable=True),
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
    with op.batch_alter_table("incident_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_message_alert_id"), ["alert_id"], unique=False
        )

    # NOT NULL columns on tables with rows: filled by a server default, which then goes
    # (the models have none).
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exercise", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("help_crew_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("origin", sa.String(length=16), nullable=False, server_default="officer")
        )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.alter_column("exercise", server_default=None)
        batch_op.alter_column("origin", server_default=None)

    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkin_interval_min", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("checkin_set_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("exercise", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.alter_column("exercise", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.drop_column("exercise")
        batch_op.drop_column("checkin_set_at")
        batch_op.drop_column("checkin_interval_min")

    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_column("origin")
        batch_op.drop_column("help_crew_id")
        batch_op.drop_column("exercise")

    with op.batch_alter_table("incident_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_message_alert_id"))

    op.drop_table("incident_message")
    op.drop_table("public_report_contact")
    op.drop_table("welfare_warning")
    op.drop_table("welfare_heard")
    with op.batch_alter_table("welfare_escort", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_welfare_escort_due_at"))

    op.drop_table("welfare_escort")
    op.drop_table("welfare_checkin")
    with op.batch_alter_table("public_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_report_received_at"))
        batch_op.drop_index(batch_op.f("ix_public_report_occurred_at"))

    op.drop_table("public_report")
