"""PieFed's own `flask` commands, by their upstream names (app/cli.py at v1.7.7).

init-db behaves like upstream's where it matters to the migration Job: it refuses (prints, exits 0)
without alembic_version or on a database not encoded in UTF8 (upstream app/cli.py, init_db, lines
102-116 at v1.7.7: the alembic_version check, then SHOW SERVER_ENCODING, which reports the
database's encoding); otherwise it drops and rebuilds every model table from the image's own models
(here: its migrations' SCHEMA), spends a moment on what upstream spends it on (downloading block
lists with 1 s timeouts), then, with `--interactive yes` (upstream's default), asks for the
administrator with upstream's prompts, in upstream's order and with its re-prompt loops (lines
227-238): the user name, the email, the user name again while it has '@' or a space, the password,
and the password again while it is shorter than 8 characters. An answer that never comes is
Python's EOFError, as upstream. Only then does it write the site row with a new key, the roles and
the administrator (Admin role, werkzeug's password hash as upstream's User.set_password) in one
transaction. A second seed therefore replaces the key and deletes whatever was written in between,
and a test sees it. The scheduled commands only check that the schema is there, which is all the
tests ask of them.
"""

import os
import secrets
import time

import click
from alembic.script import ScriptDirectory
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from app import db

SEED_DOWNLOAD_SECONDS = 1.0
# Upstream's downloads take as long as the network makes them; a test that must act inside that
# window names a file in this variable, and the download lasts until the test deletes it (bounded,
# so that a test that forgets cannot hang the run).
SEED_DOWNLOAD_HELD_WHILE_EXISTS = "STANDIN_SEED_DOWNLOAD_HELD_WHILE_EXISTS"
SEED_DOWNLOAD_LONGEST_HOLD_SECONDS = 60.0
MODEL_TABLES = ("post_reply", "post", "community", "user_role", "role", '"user"', "site")
# Upstream's four roles, in upstream's order: the administrator's is id 4 (constants.py: ROLE_ADMIN = 4).
ROLES = ("Anonymous user", "Authenticated user", "Staff", "Admin")
SCHEDULED_COMMANDS = (
    "daily-maintenance",
    "send-queue",
    "send_missed_notifs",
    "process_email_bounces",
    "clean_up_old_activities",
    "remove_orphan_files",
    "populate_community_search",
)


def model_schema():
    """The image's models as DDL: its migrations' SCHEMA statements from base to head, so that an older image
    rebuilds the tables it knows, like upstream's db.create_all() from that image's models."""
    script = ScriptDirectory("migrations")
    revisions = reversed(list(script.walk_revisions()))
    return [revision.module.SCHEMA for revision in revisions if hasattr(revision.module, "SCHEMA")]


def ask_for_admin():
    """Upstream's prompts, word for word and in its order (app/cli.py, init_db, v1.7.7)."""
    print(
        "The admin user created here should be reserved for admin tasks and not used as a primary daily identity"
        " (unless this instance will only be for personal use)."
    )
    user_name = input("Admin user name (ideally not 'admin'): ")
    email = input("Admin email address: ")
    while "@" in user_name or " " in user_name:
        print("User name cannot be an email address or have spaces.")
        user_name = input("Admin user name (ideally not 'admin'): ")
    password = input("Admin password: ")
    while len(password) < 8:
        print("Password must be at least 8 characters")
        password = input("Admin password: ")
    return user_name, email, password


def download_block_lists():
    time.sleep(SEED_DOWNLOAD_SECONDS)
    held_while_exists = os.environ.get(SEED_DOWNLOAD_HELD_WHILE_EXISTS)
    deadline = time.monotonic() + SEED_DOWNLOAD_LONGEST_HOLD_SECONDS
    while held_while_exists and os.path.exists(held_while_exists) and time.monotonic() < deadline:
        time.sleep(0.05)


def register(app):
    @app.cli.command("init-db")
    @click.option("--interactive", default="yes")
    def init_db(interactive):
        with db.engine.connect() as connection:
            if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
                print("STANDIN-SEED: Error: alembic_version table not found. Please run 'flask db upgrade' first.")
                return
            encoding = connection.execute(
                text("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")
            ).scalar()
            if encoding != "UTF8":
                print(f"STANDIN-SEED: Error: the database is encoded in {encoding}, not UTF8.")
                return
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS " + ", ".join(MODEL_TABLES) + " CASCADE"))
            for statement in model_schema():
                connection.execute(text(statement))
        print("STANDIN-SEED: dropped and rebuilt every model table", flush=True)
        download_block_lists()
        admin = ask_for_admin() if interactive == "yes" else None
        with db.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO site (name, private_key) VALUES ('PieFed', :key)"), {"key": secrets.token_hex(16)}
            )
            for role in ROLES:
                connection.execute(text("INSERT INTO role (name) VALUES (:name)"), {"name": role})
            if admin is not None:
                user_name, email, password = admin
                user_id = connection.execute(
                    text(
                        'INSERT INTO "user" (user_name, email, password_hash, verified)'
                        " VALUES (:name, :email, :hash, true) RETURNING id"
                    ),
                    {"name": user_name, "email": email, "hash": generate_password_hash(password)},
                ).scalar()
                connection.execute(
                    text("INSERT INTO user_role (user_id, role_id) SELECT :user_id, id FROM role WHERE name = 'Admin'"),
                    {"user_id": user_id},
                )
        print("STANDIN-SEED: inserted the site row")
        print("Initial setup is finished.")

    for name in SCHEDULED_COMMANDS:
        app.cli.command(name)(_scheduled(name))


def _scheduled(name):
    def command():
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1 FROM site LIMIT 1"))
        print(f"STANDIN-PIEFED: {name} ran in {os.getcwd()}")

    command.__name__ = name.replace("-", "_")
    return command
