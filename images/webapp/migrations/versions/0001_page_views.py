"""Page views: one counter row per path, incremented by every GET / (the load generator's path).

Expand: a new table in the app's schema; the previous version (no schema at all) ignores it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_views",
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("views", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="webapp",
    )
