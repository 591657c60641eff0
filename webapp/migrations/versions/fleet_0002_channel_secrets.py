"""fleet: notification channel secrets (Telegram bot tokens), encrypted

Revision ID: fleet_0002
Revises: fleet_0001
Create Date: 2026-12-01 01:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "fleet_0002"
down_revision = "fleet_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "channel_secrets",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("encrypted", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["notification_channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("channel_id"),
    )


def downgrade():
    op.drop_table("channel_secrets")
