"""PieFed's own `flask` commands, by their upstream names (app/cli.py at v1.7.7).

init-db behaves like upstream's where it matters to the migration Job: it refuses (prints, exits 0)
without alembic_version or on a database not encoded in UTF8 (upstream app/cli.py, init_db, lines
102-116 at v1.7.7: the alembic_version check, then SHOW SERVER_ENCODING, which reports the
database's encoding); otherwise it drops and rebuilds every
model table from the image's own models (here: its migrations' SCHEMA), commits, spends a moment on what upstream spends it on (downloading block lists with 1 s
timeouts), then writes the site row with a new key. A second seed therefore replaces the key and
deletes whatever was written in between, and a test sees it. The scheduled commands only check that
the schema is there, which is all the tests ask of them.
"""

import os
import secrets
import time

import click
from alembic.script import ScriptDirectory
from sqlalchemy import text

from app import db

SEED_DOWNLOAD_SECONDS = 1.0
MODEL_TABLES = ("post_reply", "post", "community", '"user"', "site")
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


def register(app):
    @app.cli.command("init-db")
    @click.option("--interactive", default="yes")
    def init_db(interactive):
        with db.engine.connect() as connection:
            if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
                print("STANDIN-SEED: Error: alembic_version table not found. Please run 'flask db upgrade' first.")
                return
            encoding = connection.execute(text("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")).scalar()
            if encoding != "UTF8":
                print(f"STANDIN-SEED: Error: the database is encoded in {encoding}, not UTF8.")
                return
        if interactive != "no":
            raise click.UsageError("STANDIN-SEED: this stand-in only seeds non-interactively")
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS " + ", ".join(MODEL_TABLES) + " CASCADE"))
            for statement in model_schema():
                connection.execute(text(statement))
        print("STANDIN-SEED: dropped and rebuilt every model table", flush=True)
        time.sleep(SEED_DOWNLOAD_SECONDS)
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO site (name, private_key) VALUES ('PieFed', :key)"), {"key": secrets.token_hex(16)})
        print("STANDIN-SEED: inserted the site row")

    for name in SCHEDULED_COMMANDS:
        app.cli.command(name)(_scheduled(name))


def _scheduled(name):
    def command():
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1 FROM site LIMIT 1"))
        print(f"STANDIN-PIEFED: {name} ran in {os.getcwd()}")
    command.__name__ = name.replace("-", "_")
    return command
