"""The stand-in's first revision: the tables the Job's decisions and the restore test look at."""

from alembic import op

revision = "3a5e1c0b7d21"
down_revision = None
branch_labels = None
depends_on = None


# Also what the stand-in's init-db rebuilds the tables from, as upstream's rebuilds them from the models.
SCHEMA = """
        CREATE TABLE site (id serial PRIMARY KEY, name text NOT NULL, private_key text NOT NULL);
        CREATE TABLE "user" (id serial PRIMARY KEY, user_name text NOT NULL UNIQUE, email text,
                             password_hash text, verified boolean NOT NULL DEFAULT false);
        CREATE TABLE role (id serial PRIMARY KEY, name text NOT NULL);
        CREATE TABLE user_role (user_id integer NOT NULL REFERENCES "user" (id),
                                role_id integer NOT NULL REFERENCES role (id),
                                PRIMARY KEY (user_id, role_id));
        CREATE TABLE community (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
        CREATE TABLE post (id serial PRIMARY KEY, community_id integer NOT NULL REFERENCES community (id),
                           user_id integer NOT NULL REFERENCES "user" (id), title text NOT NULL);
        CREATE TABLE post_reply (id serial PRIMARY KEY, post_id integer NOT NULL REFERENCES post (id),
                                 user_id integer NOT NULL REFERENCES "user" (id), body text NOT NULL);
"""


def upgrade():
    op.execute(SCHEMA)
    print("STANDIN-MIGRATE: applied 3a5e1c0b7d21 (initial)")


def downgrade():
    op.execute('DROP TABLE post_reply, post, community, user_role, role, "user", site')
