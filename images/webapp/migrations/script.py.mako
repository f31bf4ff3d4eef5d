"""${message}

Revision ${up_revision}, after ${down_revision | comma,n}. Expand only: the previous version must
still serve on this schema (README, "Schema migrations").
"""

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
