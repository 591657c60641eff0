"""fleet: what each router's package update check said (installed vs available RouterOS)

Revision ID: fleet_0005
Revises: fleet_0004
Create Date: 2026-12-01 02:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "fleet_0005"
down_revision = "fleet_0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "upgrade_infos",
        sa.Column("router_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("installed_version", sa.String(length=32), nullable=True),
        sa.Column("latest_version", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=200), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("router_id"),
    )


def downgrade():
    op.drop_table("upgrade_infos")
