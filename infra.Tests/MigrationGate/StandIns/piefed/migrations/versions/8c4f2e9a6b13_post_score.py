"""The stand-in's second revision, so that a database can be one release behind the image."""

from alembic import op

revision = "8c4f2e9a6b13"
down_revision = "3a5e1c0b7d21"
branch_labels = None
depends_on = None


SCHEMA = "ALTER TABLE post ADD COLUMN score integer NOT NULL DEFAULT 0"


def upgrade():
    op.execute(SCHEMA)
    print("STANDIN-MIGRATE: applied 8c4f2e9a6b13 (post score)")


def downgrade():
    op.execute("ALTER TABLE post DROP COLUMN score")
