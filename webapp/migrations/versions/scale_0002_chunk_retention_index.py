"""scale: index metric chunks by resolution and window start (retention drops whole windows)

Revision ID: scale_0002
Revises: money_0001_frozen_terms
Create Date: 2026-12-01 01:20:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "scale_0002"
down_revision = "money_0001_frozen_terms"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("metric_chunks", schema=None) as batch_op:
        batch_op.create_index("ix_metric_chunks_resolution_start", ["resolution", "start_ts"], unique=False)


def downgrade():
    with op.batch_alter_table("metric_chunks", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_chunks_resolution_start")
