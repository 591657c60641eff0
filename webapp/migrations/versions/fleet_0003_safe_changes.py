"""fleet: safe changes (a change applied with an automatic rollback armed on the router)

Revision ID: fleet_0003
Revises: fleet_0002
Create Date: 2026-12-01 02:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "fleet_0003"
down_revision = "fleet_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "safe_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("router_id", sa.Integer(), nullable=False),
        sa.Column("command_id", sa.Integer(), nullable=True),
        sa.Column("command", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("undo", sa.Text(), nullable=False),
        sa.Column("scheduler_name", sa.String(length=64), nullable=False),
        sa.Column("rollback_minutes", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("rollback_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["command_id"], ["command_runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_safe_changes_router", "safe_changes", ["router_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_safe_changes_router", table_name="safe_changes")
    op.drop_table("safe_changes")
