"""users: dashboard language and time zone

Revision ID: dash_0001
Revises: scale_0001
Create Date: 2026-12-01 01:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "dash_0001"
down_revision = "scale_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("timezone")
        batch.drop_column("locale")
