"""fleet: router groups, group membership, tags, configuration versions

Revision ID: fleet_0001
Revises: scale_0002
Create Date: 2026-12-01 01:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "fleet_0001"
down_revision = "scale_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "router_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("poll_interval_seconds", sa.Integer(), nullable=True),
        sa.Column("backup_hour_utc", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "name", name="uq_router_groups_user_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_router_groups_user_id", "router_groups", ["user_id"], unique=False)
    op.create_table(
        "router_group_members",
        sa.Column("router_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["router_groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("router_id"),
    )
    op.create_index("ix_router_group_members_group_id", "router_group_members", ["group_id"], unique=False)
    op.create_table(
        "router_tags",
        sa.Column("router_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("router_id", "tag"),
    )
    op.create_index("ix_router_tags_tag", "router_tags", ["tag"], unique=False)
    op.create_table(
        "config_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("router_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("routeros_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_config_versions_router_id", "config_versions", ["router_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_config_versions_router_id", table_name="config_versions")
    op.drop_table("config_versions")
    op.drop_index("ix_router_tags_tag", table_name="router_tags")
    op.drop_table("router_tags")
    op.drop_index("ix_router_group_members_group_id", table_name="router_group_members")
    op.drop_table("router_group_members")
    op.drop_index("ix_router_groups_user_id", table_name="router_groups")
    op.drop_table("router_groups")
