"""hotspot trial settings per router site, what the last sync read of the router (serial, identity, replaced),
and per batch the last check of its vouchers on the router

Revision ID: money_0002_trial_and_checks
Revises: portal_0001
Create Date: 2026-12-01 01:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "money_0002_trial_and_checks"
down_revision = "portal_0001"
branch_labels = None
depends_on = None

_SITE_DEFAULTS = {"trial_enabled": "0", "trial_minutes": "30", "trial_reset_hours": "24",
                  "trial_sync_state": "synced"}


def upgrade():
    # hotspot_sites has no child rows, so SQLite may rebuild it (batch mode: a column with a foreign key can be
    # neither added with a constraint nor dropped in place there); voucher_batches has children and gets its
    # columns in place (see money_0001).
    with op.batch_alter_table("hotspot_sites") as batch:
        batch.add_column(sa.Column("trial_enabled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("trial_minutes", sa.Integer(), nullable=False, server_default="30"))
        batch.add_column(sa.Column("trial_reset_hours", sa.Integer(), nullable=False, server_default="24"))
        batch.add_column(sa.Column("trial_package_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("trial_sync_state", sa.String(length=16), nullable=False,
                                   server_default="synced"))
        batch.add_column(sa.Column("router_serial", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("router_identity", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("replaced_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("replaced_note", sa.String(length=500), nullable=True))
        batch.create_foreign_key("fk_hotspot_sites_trial_package_id", "packages", ["trial_package_id"], ["id"],
                                 ondelete="SET NULL")
    with op.batch_alter_table("hotspot_sites") as batch:
        for name in _SITE_DEFAULTS:
            batch.alter_column(name, server_default=None)
    op.add_column("voucher_batches", sa.Column("checked_at", sa.DateTime(), nullable=True))
    op.add_column("voucher_batches", sa.Column("missing_at_check", sa.Integer(), nullable=False,
                                               server_default="0"))
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("voucher_batches", "missing_at_check", server_default=None)


def downgrade():
    op.drop_column("voucher_batches", "missing_at_check")
    op.drop_column("voucher_batches", "checked_at")
    with op.batch_alter_table("hotspot_sites") as batch:
        batch.drop_constraint("fk_hotspot_sites_trial_package_id", type_="foreignkey")
        for name in ("replaced_note", "replaced_at", "router_identity", "router_serial", "trial_sync_state",
                     "trial_package_id", "trial_reset_hours", "trial_minutes", "trial_enabled"):
            batch.drop_column(name)
