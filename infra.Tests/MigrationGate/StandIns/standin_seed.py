"""Stands in for `flask init-db --interactive no` in db-init's tests, destructive like the real one.

init-db refuses (and exits 0) without alembic_version; otherwise it drops every table and rebuilds
them, so a wrong seed decision by db-init deletes the test's rows and the test sees it. Its markers
(STANDIN-SEED) let a test find its output in db-init's log.
"""

import argparse
import os
import sys

import psycopg2

parser = argparse.ArgumentParser()
parser.add_argument("--fail", action="store_true", help="fail before touching the database")
arguments = parser.parse_args()

if arguments.fail:
    print("STANDIN-SEED: FAILED: could not generate the site key pair", file=sys.stderr)
    sys.exit(1)

connection = psycopg2.connect("postgresql://" + os.environ["DATABASE_URL"].partition("://")[2])
with connection, connection.cursor() as cursor:
    cursor.execute("SELECT to_regclass('alembic_version')")
    if cursor.fetchone()[0] is None:
        print("STANDIN-SEED: Error: alembic_version table not found. Please run 'flask db upgrade' first.")
        sys.exit(0)
    cursor.execute('DROP TABLE IF EXISTS site, "user" CASCADE')
    cursor.execute("CREATE TABLE site (id serial PRIMARY KEY, name text NOT NULL)")
    cursor.execute('CREATE TABLE "user" (id serial PRIMARY KEY, user_name text NOT NULL)')
    cursor.execute("INSERT INTO site (name) VALUES ('PieFed')")
connection.close()
print("STANDIN-SEED: dropped and rebuilt site and user, inserted the site row")
