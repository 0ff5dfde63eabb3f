"""Stands in for `flask db upgrade` in db-init's tests: brings the test database to "head" for real.

Like Alembic on head it is idempotent, and it never touches rows. Its markers (STANDIN-MIGRATE)
let a test find its output in db-init's log.
"""

import argparse
import os
import signal
import sys
import time

import psycopg2

parser = argparse.ArgumentParser()
parser.add_argument("--label", help="echoed, so a test can see that arguments arrive verbatim")
parser.add_argument("--fail", action="store_true", help="fail like a broken migration")
parser.add_argument("--without-schema", action="store_true", help="succeed without creating any table")
parser.add_argument("--kill-itself", action="store_true", help="die by SIGKILL, like the OOM killer")
parser.add_argument("--run-until-terminated", action="store_true", help="block until SIGTERM")
arguments = parser.parse_args()

if arguments.label is not None:
    print(f"STANDIN-MIGRATE: label={arguments.label}")

if arguments.fail:
    print("STANDIN-MIGRATE: applying revision 0042 (stdout)")
    print("STANDIN-MIGRATE: FAILED: relation \"post\" already exists (stderr)", file=sys.stderr)
    sys.exit(1)

if arguments.kill_itself:
    print("STANDIN-MIGRATE: about to be killed")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)

if arguments.run_until_terminated:
    def report_termination(_signum, _frame):
        print("STANDIN-MIGRATE: received SIGTERM")
        sys.exit(143)

    signal.signal(signal.SIGTERM, report_termination)
    # Not flushed on purpose: only an unbuffered child shows this line before it exits.
    print("STANDIN-MIGRATE: running until terminated")
    time.sleep(120)
    sys.exit(0)

if arguments.without_schema:
    print("STANDIN-MIGRATE: ran without creating the schema")
    sys.exit(0)

connection = psycopg2.connect("postgresql://" + os.environ["DATABASE_URL"].partition("://")[2])
with connection, connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32) PRIMARY KEY)")
    cursor.execute("INSERT INTO alembic_version VALUES ('standin_head') ON CONFLICT DO NOTHING")
    cursor.execute("CREATE TABLE IF NOT EXISTS site (id serial PRIMARY KEY, name text NOT NULL)")
    cursor.execute('CREATE TABLE IF NOT EXISTS "user" (id serial PRIMARY KEY, user_name text NOT NULL)')
connection.close()
print("STANDIN-MIGRATE: schema at head")
