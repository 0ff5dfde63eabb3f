"""Migrates PieFed's database for a release, one run at a time, with a verified backup before every
schema change; also takes the scheduled backups and restores one.

Runs in the stock PieFed image (cwd /app, Python 3 with the app's own packages: psycopg2, redis,
Alembic; the image's postgresql-client provides pg_dump and pg_restore).

    python3 db_init.py [migrate]   the migration Job of a release
    python3 db_init.py backup      the scheduled backup
    python3 db_init.py restore     the restore Job (docs/operations.md, "Restoring a backup")

migrate:
1. waits until PostgreSQL answers an authenticated query and Redis answers PING;
2. takes the migration lock, a PostgreSQL advisory lock held by a session of its own until the run
   ends, so that a second run (an old Job's pod still running, a retried pod, a `kubectl create job
   --from`) waits for the first and then finds nothing left to do. Both waits share one deadline;
3. compares the database's alembic_version with the heads of the image's own migrations, without
   booting the app. At head: no migration. A revision the image does not know: the image is older
   than the database, and the run fails at once. Otherwise a migration is pending: with backups on,
   a pg_dump in custom format is written, verified with pg_restore --list and rotated, and only then
   does `flask db upgrade` run, after which the database must be at the image's head. Its sessions
   wait at most DB_INIT_LOCK_TIMEOUT_SECONDS for any lock (lock_timeout, through PGOPTIONS), so that
   an ALTER TABLE queued behind a long transaction never stalls the site's queries on that table;
   a migration rolled back by it is tried again, naming the sessions that held the locks;
4. runs the first-install seed (`flask init-db --interactive yes`) only when the `site` table has no
   row and no user exists. init-db drops and rebuilds every table, so on an instance with data it
   would delete everything: the decision is taken from the data, under the lock, and a missing table
   counts as empty. A first install interrupted between the two steps is completed by the retry.
   init-db creates the administrator only interactively, asking on standard input for the user
   name, the email and the password (app/cli.py, init_db, v1.7.7): the run answers from
   PIEFED_ADMIN_*, on a pipe, so the password is on no command line, in no log and in no child's
   environment. The answers are checked first against init-db's own re-prompt rules (a user name
   with '@' or a space, a password under 8 characters), which would otherwise wait for a better
   answer; afterwards the account must exist.

backup: waits for PostgreSQL, takes the migration lock (a dump never races a migration), dumps,
verifies and rotates. restore: under the lock, waits (DB_RESTORE_SESSIONS_WAIT_SECONDS) for every
other session of the database to end and refuses if one is still there, then restores the newest
backup taken at a revision this image knows (or DB_RESTORE_FILE), emptying the schema and restoring
in one transaction (pg_restore's SQL run by psql): a restore that fails, is stopped or is killed
leaves the database as it was.

The lock is session-level: it does not survive a transaction-mode connection pooler (PgBouncer's
pool_mode=transaction), which hands every transaction to any server connection. DATABASE_URL must
reach PostgreSQL directly or through a session-mode pool; the run checks that its lock session is
still the one holding the lock before every step and fails, saying so, when it is not.

Rejected credentials fail at once instead of being retried until the deadline: waiting cannot fix
a wrong password, and the Job's backoffLimit still retries the pod if the role is created late.

Environment:
  DATABASE_URL                        postgresql+psycopg2://user:password@host:port/db[?sslmode=...]
                                      (SQLAlchemy form, password URL-encoded)
  CACHE_REDIS_URL                     redis://[:password@]host:port/db (migrate only)
  DB_INIT_DEPENDENCY_TIMEOUT_SECONDS  deadline for the dependencies and the lock together (default 300)
  DB_INIT_RETRY_INTERVAL_SECONDS      pause between attempts (default 2)
  DB_INIT_MIGRATIONS_DIRECTORY        the image's Alembic scripts (default "migrations", from cwd)
  DB_INIT_BACKUP_DIRECTORY            where dumps go; unset: no dump before migrating (required by
                                      backup and restore)
  DB_INIT_BACKUP_KEEP                 how many dumps to keep (default 7)
  DB_INIT_BACKUP_TIMEOUT_SECONDS      the longest one dump may take before it is stopped (default 1800)
  DB_INIT_LOCK_TIMEOUT_SECONDS        migrate: the longest a migration statement waits for a lock (default 5)
  DB_INIT_LOCK_RETRY_SECONDS          migrate: how long a migration rolled back by it is tried again (default 120)
  DB_RESTORE_FILE                     restore: a dump's file name in the backup directory
  DB_RESTORE_SESSIONS_WAIT_SECONDS    restore: how long the other sessions may take to end (default 0:
                                      refuse at once)
  PIEFED_ADMIN_USER_NAME              migrate: the administrator a first install creates (3 to 50
                                      letters, digits or '_')
  PIEFED_ADMIN_EMAIL                  migrate: the administrator's email address
  PIEFED_ADMIN_PASSWORD               migrate: the administrator's password (at least 8 characters,
                                      no control characters); needed only by a first install
`flask` runs in the working directory with this environment, which must name PieFed's app
(FLASK_APP=pyfedi.py) for `flask init-db` to exist; its output goes straight to this process's.

Exit codes: 0 done, 1 failed, 2 misconfigured, 143 stopped by SIGTERM (forwarded to the command
that was running: as PID 1 of a container, Python would otherwise ignore SIGTERM).
"""

import collections
import datetime
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import unicodedata
import uuid

import psycopg2
import psycopg2.extensions
import psycopg2.sql
import redis
from alembic.script import ScriptDirectory
from alembic.util import CommandError

DEFAULT_DEPENDENCY_TIMEOUT_SECONDS = 300.0
DEFAULT_RETRY_INTERVAL_SECONDS = 2.0
DEFAULT_MIGRATIONS_DIRECTORY = "migrations"
MIGRATE_COMMAND = ("flask", "db", "upgrade")
# PostgreSQL's message when a statement gave up waiting for a lock (SQLSTATE 55P03, lock_timeout).
LOCK_TIMEOUT_MESSAGE = "canceling statement due to lock timeout"
DEFAULT_LOCK_TIMEOUT_SECONDS = 5.0
DEFAULT_LOCK_RETRY_SECONDS = 120.0
FIRST_LOCK_RETRY_PAUSE_SECONDS = 2.0
SEED_COMMAND = ("flask", "init-db", "--interactive", "yes")
ADMIN_USER_NAME = re.compile(r"^[A-Za-z0-9_]{3,50}$")
ADMIN_EMAIL = re.compile(r"^[!-?A-~]{1,64}@[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
ADMIN_PASSWORD_MINIMUM_LENGTH = 8
ADMIN_VARIABLES = ("PIEFED_ADMIN_USER_NAME", "PIEFED_ADMIN_EMAIL", "PIEFED_ADMIN_PASSWORD")
DEFAULT_BACKUP_KEEP = 7
DEFAULT_BACKUP_TIMEOUT_SECONDS = 1800.0
DEFAULT_SESSIONS_WAIT_SECONDS = 0.0
MODES = ("migrate", "backup", "restore")
SQLALCHEMY_POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg2")
# One attempt must not eat the whole deadline when connections hang (packets dropped, server stuck).
LONGEST_ATTEMPT_SECONDS = 5
# The last attempt, made when the deadline is (almost) reached, still gets time to report a real
# reason; and to libpq a connect_timeout of 0 means "wait forever".
SHORTEST_ATTEMPT_SECONDS = 2
# Messages with which libpq refuses the server's certificate (sslmode verify-ca/verify-full): waiting
# cannot fix a wrong CA or a host name the certificate does not name.
POSTGRES_CERTIFICATE_REJECTIONS = (
    "certificate verify failed",
    "root certificate file",
    "does not match host name",
    "server certificate for",
)
# Messages with which PostgreSQL or libpq reject the credentials (PostgreSQL reports a missing
# role as a failed password, on purpose).
POSTGRES_CREDENTIAL_REJECTIONS = (
    "password authentication failed",
    "no password supplied",
)
# The advisory lock's two int4 keys: "PiFe" and the migration lock's number.
LOCK_KEYS = (0x50694665, 1)
# PostgreSQL truncates application_name to 63 bytes.
APPLICATION_NAME_LENGTH = 63
# How often a waiting run repeats who holds the lock, when the holder has not changed.
HOLDER_REPORT_SECONDS = 30
BASE_REVISION = "base"
DUMP_NAME = re.compile(
    r"^piefed-(?P<stamp>\d{8}T\d{6}Z)-at-(?P<revision>[0-9A-Za-z_+]+)(-before-(?P<target>[0-9A-Za-z_+]+))?\.dump$"
)
PARTIAL_SUFFIX = ".partial"
# A new dump is expected to be at most this much larger than the newest one.
DUMP_GROWTH_MARGIN = 1.25
POOLER_EXPLANATION = (
    "DATABASE_URL seems to reach PostgreSQL through a transaction-mode connection pooler (such as PgBouncer"
    " with pool_mode=transaction), which hands each transaction to any server connection, so a session-level"
    " advisory lock cannot keep two runs apart. Point the migration's DATABASE_URL at PostgreSQL directly, or"
    " at a session-mode pool"
)
# Everything in the schema that a dump recreates, except what an extension owns (the extension
# stays, and the dump's CREATE EXTENSION IF NOT EXISTS finds it).
CLEAR_SCHEMA = """
DO $clear$
DECLARE
  statement text;
BEGIN
  FOR statement IN
    SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                 WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                  n.nspname, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('DROP FUNCTION IF EXISTS %s CASCADE', p.oid::regprocedure)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = current_schema() AND p.prokind = 'f'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('DROP TYPE IF EXISTS %I.%I CASCADE', n.nspname, t.typname)
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE statement;
  END LOOP;
END
$clear$;
"""


class ConfigurationError(Exception):
    pass


class GateFailure(Exception):
    pass


class NotReady(Exception):
    pass


class CredentialsRejected(Exception):
    pass


class CertificateRejected(Exception):
    pass


class Terminated(BaseException):
    """Raised from the SIGTERM handler; a BaseException so that no `except Exception` absorbs it."""


def log(message):
    print(f"db-init: {message}", flush=True)


def one_line(error):
    return " ".join(str(error).split()).rstrip(".")


def read_seconds(name, default):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def read_count(name, default):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1, got {raw!r}")
    return int(raw)


def read_required(name):
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is not set")
    return value


class Admin:
    """The first administrator, as init-db's prompts will be answered."""

    def __init__(self, environment):
        self.user_name = environment.get("PIEFED_ADMIN_USER_NAME", "")
        self.email = environment.get("PIEFED_ADMIN_EMAIL", "")
        self.password = environment.get("PIEFED_ADMIN_PASSWORD", "")
        if not ADMIN_USER_NAME.match(self.user_name):
            raise ConfigurationError(
                f"PIEFED_ADMIN_USER_NAME={self.user_name!r} is not a PieFed user name:"
                " expected 3 to 50 letters, digits or '_'"
            )
        if not ADMIN_EMAIL.match(self.email):
            raise ConfigurationError(f"PIEFED_ADMIN_EMAIL={self.email!r} is not an email address")
        # Never quoted: it is a password.
        if self.password and (
            len(self.password) < ADMIN_PASSWORD_MINIMUM_LENGTH
            or any(unicodedata.category(character) == "Cc" for character in self.password)
        ):
            raise ConfigurationError(
                f"PIEFED_ADMIN_PASSWORD has {len(self.password)} characters; expected at least"
                f" {ADMIN_PASSWORD_MINIMUM_LENGTH}, without line breaks or other control characters"
            )

    def answers(self):
        """init-db's three questions, in the order it asks them."""
        if not self.password:
            raise GateFailure(
                "this is a first install, which creates the administrator, and PIEFED_ADMIN_PASSWORD is empty: with"
                " piefed:existingSecret, add the password as PIEFED_ADMIN_PASSWORD to that Secret and run `pulumi up`"
                " again. Nothing was seeded"
            )
        return f"{self.user_name}\n{self.email}\n{self.password}\n"


def application_name(mode):
    """What pg_stat_activity shows for this run: the mode and the pod (the container's hostname)."""
    return f"piefed-db-init {mode} {os.environ.get('HOSTNAME', '')}".strip()[:APPLICATION_NAME_LENGTH]


class Postgres:
    def __init__(self, database_url, mode):
        scheme, separator, rest = database_url.partition("://")
        if not separator or scheme not in SQLALCHEMY_POSTGRES_SCHEMES:
            raise ConfigurationError(
                "DATABASE_URL must have the form postgresql+psycopg2://user:password@host:port/database"
                f" (scheme found: {scheme if separator else 'none'!r})"
            )
        # libpq reads the SQLAlchemy URL once the driver suffix is gone, percent-decoding included.
        self.setting = "DATABASE_URL"
        self.url = "postgresql://" + rest
        self.application_name = application_name(mode)
        try:
            self.parameters = psycopg2.extensions.parse_dsn(self.url)
        except psycopg2.ProgrammingError as error:
            # libpq quotes the offending part, which may be a password that is not properly encoded.
            password = rest.split("/", 1)[0].rpartition("@")[0].partition(":")[2]
            reason = one_line(error).replace(password, "***") if password else one_line(error)
            raise ConfigurationError(f"DATABASE_URL cannot be parsed: {reason}") from None
        self.description = (
            f"PostgreSQL {self.parameters.get('user', '(default user)')}"
            f"@{self.parameters.get('host', '(default host)')}"
            f":{self.parameters.get('port', 5432)}/{self.parameters.get('dbname', '(default database)')}"
        )

    def connect(self, timeout_seconds=LONGEST_ATTEMPT_SECONDS):
        return psycopg2.connect(
            self.url,
            connect_timeout=max(SHORTEST_ATTEMPT_SECONDS, math.ceil(min(LONGEST_ATTEMPT_SECONDS, timeout_seconds))),
            application_name=self.application_name,
            # A lock session whose peer vanished must be noticed, by the server too.
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )

    def client_tool(self, options, operands=()):
        """argv of pg_dump or pg_restore on this connection, and an environment with its password."""
        parameters = {key: value for key, value in self.parameters.items() if key != "password"}
        parameters["application_name"] = self.application_name
        environment = dict(os.environ)
        if "password" in self.parameters:
            environment["PGPASSWORD"] = self.parameters["password"]
        return [*options, f"--dbname={psycopg2.extensions.make_dsn(**parameters)}", *operands], environment

    def probe(self, timeout_seconds):
        try:
            connection = self.connect(timeout_seconds)
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            finally:
                connection.close()
        except psycopg2.Error as error:
            reason = one_line(error)
            if any(rejection in reason for rejection in POSTGRES_CREDENTIAL_REJECTIONS):
                raise CredentialsRejected(reason) from None
            if any(rejection in reason for rejection in POSTGRES_CERTIFICATE_REJECTIONS):
                raise CertificateRejected(reason) from None
            raise NotReady(reason) from None

    def query(self, work):
        connection = self.connect()
        try:
            with connection, connection.cursor() as cursor:
                return work(cursor)
        finally:
            connection.close()

    def instance_contents(self):
        """Whether the `site` table has a row and whether a user exists (missing tables are empty)."""
        return self.query(lambda cursor: (table_has_rows(cursor, "site"), table_has_rows(cursor, "user")))

    def revisions(self):
        """The revisions in alembic_version; none when the table is missing or empty."""

        def read(cursor):
            cursor.execute("SELECT to_regclass('alembic_version')")
            if cursor.fetchone()[0] is None:
                return frozenset()
            cursor.execute("SELECT version_num FROM alembic_version")
            return frozenset(row[0] for row in cursor.fetchall())

        return self.query(read)

    def user_exists(self, user_name):
        def read(cursor):
            cursor.execute('SELECT EXISTS (SELECT 1 FROM "user" WHERE user_name = %s)', (user_name,))
            return cursor.fetchone()[0]

        return self.query(read)

    def lock_holders(self, own_pids):
        """Sessions with open transactions holding locks on this schema's tables, longest first."""

        def read(cursor):
            cursor.execute(
                "SELECT a.pid, coalesce(nullif(a.application_name, ''), '(no application name)'), a.state,"
                " extract(epoch FROM now() - a.xact_start)::int,"
                " string_agg(DISTINCT c.relname, ', ' ORDER BY c.relname)"
                " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid JOIN pg_class c ON c.oid = l.relation"
                " WHERE l.granted AND l.locktype = 'relation' AND a.datname = current_database()"
                " AND c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')"
                " AND a.pid <> pg_backend_pid() AND NOT a.pid = ANY(%s)"
                " GROUP BY a.pid, a.application_name, a.state, a.xact_start ORDER BY a.xact_start",
                (list(own_pids),),
            )
            return [
                f"{name} (pid {pid}, {state}, in a transaction for {seconds} s, holding {tables})"
                for pid, name, state, seconds, tables in cursor.fetchall()
            ]

        return self.query(read)

    def other_sessions(self, own_pids):
        """Client sessions on this database other than this run's, as "application (pid N)"."""

        def read(cursor):
            cursor.execute(
                "SELECT pid, coalesce(nullif(application_name, ''), '(no application name)') FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_type = 'client backend'"
                " AND pid <> pg_backend_pid() AND NOT pid = ANY(%s) ORDER BY backend_start",
                (list(own_pids),),
            )
            return [f"{name} (pid {pid})" for pid, name in cursor.fetchall()]

        return self.query(read)


def table_has_rows(cursor, table):
    cursor.execute("SELECT to_regclass(quote_ident(%s))", (table,))
    if cursor.fetchone()[0] is None:
        return False
    cursor.execute(psycopg2.sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(psycopg2.sql.Identifier(table)))
    return cursor.fetchone()[0]


class Redis:
    def __init__(self, cache_url):
        try:
            options = redis.ConnectionPool.from_url(cache_url).connection_kwargs
        except ValueError as error:
            raise ConfigurationError(f"CACHE_REDIS_URL cannot be parsed: {one_line(error)}") from None
        self.setting = "CACHE_REDIS_URL"
        self.url = cache_url
        self.description = (
            f"Redis {options.get('host', 'localhost')}:{options.get('port', 6379)}/{options.get('db', 0)}"
        )

    def probe(self, timeout_seconds):
        attempt_timeout = min(LONGEST_ATTEMPT_SECONDS, max(SHORTEST_ATTEMPT_SECONDS, timeout_seconds))
        client = redis.Redis.from_url(self.url, socket_connect_timeout=attempt_timeout, socket_timeout=attempt_timeout)
        try:
            client.ping()
        except redis.AuthenticationError as error:
            raise CredentialsRejected(one_line(error)) from None
        except redis.RedisError as error:
            reason = one_line(error)
            # redis-py before 5 does not map WRONGPASS to AuthenticationError.
            if reason.startswith("WRONGPASS"):
                raise CredentialsRejected(reason) from None
            raise NotReady(reason) from None
        finally:
            client.close()


def wait_until_ready(dependency, deadline, timeout_seconds, retry_interval):
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            dependency.probe(max(deadline - time.monotonic(), 0))
        except CredentialsRejected as error:
            raise GateFailure(
                f"{dependency.description} rejected the credentials: {error}. Waiting will not fix this:"
                f" check the user and password in {dependency.setting}"
            ) from None
        except CertificateRejected as error:
            raise GateFailure(
                f"{dependency.description} was reached, but its certificate was refused: {error}."
                " Waiting will not fix this:"
                " check piefed:database.caSecret (the CA that signed the server's certificate, as ca.crt) and that"
                " piefed:database.host is a name the certificate holds"
            ) from None
        except NotReady as error:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GateFailure(
                    f"{dependency.description} was not ready within {timeout_seconds:g} s"
                    f" (DB_INIT_DEPENDENCY_TIMEOUT_SECONDS) after {attempt} attempts; last reason: {error}"
                ) from None
            pause = min(retry_interval, remaining)
            log(f"{dependency.description} not ready (attempt {attempt}): {error}; retrying in {pause:.1f} s")
            time.sleep(pause)
        else:
            log(f"{dependency.description} is ready (attempt {attempt}, {time.monotonic() - started:.1f} s)")
            return


class MigrationLock:
    """The advisory lock that lets one run at a time migrate, seed, back up or restore.

    Taken on a session of its own that lives as long as the run: PostgreSQL releases it when that
    session ends, however the run ends (exit, SIGKILL, a lost node once keepalives give up).
    """

    def __init__(self, postgres):
        self.postgres = postgres
        self.connection = None
        self.backend_pid = None
        # Marks the session that holds the lock, to tell it apart from a pooled server connection.
        self.run_id = uuid.uuid4().hex

    def acquire(self, deadline, timeout_seconds, retry_interval):
        started = time.monotonic()
        self.connection = self.postgres.connect(max(deadline - started, 0))
        last_holder, last_report = None, None
        while not self.try_acquire():
            holder, description = self.holder()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GateFailure(
                    f"another run still holds the migration lock after {timeout_seconds:g} s"
                    f" (DB_INIT_DEPENDENCY_TIMEOUT_SECONDS): {description}. Nothing was changed; the next attempt"
                    " will find that run's result"
                )
            if holder != last_holder or time.monotonic() - last_report >= HOLDER_REPORT_SECONDS:
                log(f"waiting for the migration lock, held by {description}")
                last_holder, last_report = holder, time.monotonic()
            time.sleep(min(retry_interval, remaining))
        log(
            f"holding the migration lock (waited {time.monotonic() - started:.1f} s;"
            f" pg_stat_activity shows this run as {self.postgres.application_name!r}, pid {self.backend_pid})"
        )

    def try_acquire(self):
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), current_setting('piefed.db_init_run', true)")
            backend_pid, marker = cursor.fetchone()
            if marker:
                raise GateFailure(f"this database session already belongs to another run. {POOLER_EXPLANATION}")
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", LOCK_KEYS)
            if not cursor.fetchone()[0]:
                return False
            cursor.execute("SELECT set_config('piefed.db_init_run', %s, false)", (self.run_id,))
            self.backend_pid = backend_pid
            return True

    def holder(self):
        """The lock holder's backend pid, and a description of it for the log."""
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT l.pid, a.application_name, a.backend_start, now() - a.backend_start FROM pg_locks l"
                " LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2"
                " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                LOCK_KEYS,
            )
            row = cursor.fetchone()
        if row is None:
            return None, "a session that has just released it"
        pid, name, started, age = row
        if name is None:
            return pid, f"PostgreSQL backend pid {pid} (its details are hidden from this role)"
        return pid, (
            f"{name!r} (PostgreSQL backend pid {pid}, connected since {started:%Y-%m-%d %H:%M:%S %Z},"
            f" {age.total_seconds():.0f} s ago)"
        )

    def verify(self, step):
        """Fails unless this run's session still holds the lock: checked before every step that writes."""
        try:
            with self.connection, self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_backend_pid(), current_setting('piefed.db_init_run', true),"
                    " EXISTS (SELECT 1 FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
                    " AND classid = %s AND objid = %s AND objsubid = 2)",
                    LOCK_KEYS,
                )
                backend_pid, marker, holds = cursor.fetchone()
        except psycopg2.Error as error:
            raise GateFailure(
                f"lost the database session holding the migration lock before the {step}: {one_line(error)}."
                " Another run may take over now; this one stops before changing anything else"
            ) from None
        if (backend_pid, marker, holds) != (self.backend_pid, self.run_id, True):
            raise GateFailure(
                f"before the {step}, this run's lock session is PostgreSQL backend {backend_pid},"
                f" not {self.backend_pid},"
                f" and {'still' if holds else 'no longer'} holds the migration lock. {POOLER_EXPLANATION}"
            )

    def release(self):
        if self.connection is not None:
            self.connection.close()


class Migrations:
    """The image's own Alembic scripts, read without booting the app."""

    def __init__(self, directory):
        self.directory = directory
        try:
            self.script = ScriptDirectory(directory)
            self.heads = frozenset(self.script.get_heads())
        except CommandError as error:
            raise GateFailure(
                f"cannot read the image's migrations in {os.path.abspath(directory)}: {one_line(error)}"
            ) from None
        if not self.heads:
            raise GateFailure(f"the image's migrations in {os.path.abspath(directory)} have no revision")

    def knows(self, revision):
        try:
            return self.script.get_revision(revision) is not None
        except CommandError:
            return False

    def unknown(self, revisions):
        return sorted(revision for revision in revisions if not self.knows(revision))

    def restorable(self, dump_revision):
        """Whether a dump taken at this revision (as its file name writes it) leaves a schema this image runs."""
        return dump_revision != BASE_REVISION and not self.unknown(dump_revision.split("+"))


def describe(revisions):
    return "+".join(sorted(revisions)) if revisions else BASE_REVISION


class Backups:
    def __init__(self, directory, keep, timeout_seconds):
        self.directory = directory
        self.keep = keep
        # A dump has a budget of its own: it must not eat the migration's deadline, nor run for ever.
        self.timeout_seconds = timeout_seconds

    def dumps(self):
        """(name, revision at dump time), newest first."""
        try:
            names = os.listdir(self.directory)
        except OSError as error:
            raise GateFailure(f"cannot read the backup directory {self.directory}: {error.strerror}") from None
        matches = [(name, DUMP_NAME.match(name)) for name in names]
        found = [(match["stamp"], name, match["revision"]) for name, match in matches if match]
        return [(name, revision) for _, name, revision in sorted(found, reverse=True)]

    def newest(self):
        dumps = self.dumps()
        return os.path.join(self.directory, dumps[0][0]) if dumps else None

    def protected(self):
        """The newest dump taken before each of the last two migrations: what the previous image, and
        the one before it, can restore. No rotation removes them."""
        targets = {}
        for name in sorted(os.listdir(self.directory), reverse=True):
            match = DUMP_NAME.match(name)
            if match and match["target"] and match["target"] not in targets and len(targets) < 2:
                targets[match["target"]] = name
        return set(targets.values())

    def removable(self):
        """The dumps rotation may remove, in the order it removes them: the oldest scheduled dumps
        first, then the oldest dumps taken before a migration, never a protected one."""
        protected = self.protected()
        oldest_first = list(reversed(self.dumps()))
        scheduled = [name for name, _ in oldest_first if not DUMP_NAME.match(name)["target"]]
        before = [name for name, _ in oldest_first if DUMP_NAME.match(name)["target"] and name not in protected]
        return scheduled + before

    def remove(self, name, why):
        os.remove(os.path.join(self.directory, name))
        log(f"removed the old backup {name} ({why})")

    def make_room(self):
        """Before a dump: at most keep - 1 dumps stay, and the room the newest dump took is free.

        Rotating only after a dump succeeded would free nothing on a full volume; and dumps are
        removed scheduled ones first, so that the dumps the previous images can restore stay."""
        self.clear_unfinished()
        while len(self.dumps()) > self.keep - 1 and (candidates := self.removable()):
            self.remove(candidates[0], f"keeping the newest {self.keep}, DB_INIT_BACKUP_KEEP")
        newest = self.newest()
        newest_size = os.path.getsize(newest) if newest else 0
        needed = math.ceil(newest_size * DUMP_GROWTH_MARGIN)
        while self.free() < needed and (candidates := self.removable()):
            self.remove(candidates[0], f"making room: the next dump needs about {needed} bytes")
        if self.free() < needed:
            volume = os.statvfs(self.directory)
            gibibytes = math.ceil((volume.f_blocks * volume.f_frsize + needed - self.free()) / 2**30)
            raise GateFailure(
                f"the backup volume has {self.free()} bytes free and the dump needs about {needed} (the newest took"
                f" {newest_size}), and no dump that may go is left (the dumps the previous releases can restore stay:"
                f" {', '.join(sorted(self.protected())) or 'none'}). Nothing was migrated. Grow the volume, and the"
                f" run is retried: `pulumi config set --path 'piefed:backup.size' {gibibytes}Gi` and `pulumi up` (the"
                " StorageClass must allow volume expansion)"
            )

    def free(self):
        volume = os.statvfs(self.directory)
        return volume.f_bavail * volume.f_frsize

    def take(self, postgres, lock, revisions, target=None):
        """Dumps the database, verifies the dump, keeps the newest `keep`; only then returns its path."""
        if not os.access(self.directory, os.W_OK):
            raise GateFailure(
                f"the backup directory {self.directory} is not writable by uid {os.getuid()}:"
                " the backup volume needs the pod's fsGroup (the program sets it)"
            )
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name = f"piefed-{stamp}-at-{describe(revisions)}" + (f"-before-{describe(target)}" if target else "") + ".dump"
        path = os.path.join(self.directory, name)
        partial = path + PARTIAL_SUFFIX
        lock.verify("backup")
        self.make_room()
        log(f"backing up {postgres.description} at revision {describe(revisions)} to {path}")
        started = time.monotonic()
        argv, environment = postgres.client_tool(["pg_dump", "--format=custom", f"--file={partial}"])
        try:
            run_tool(
                "backup",
                argv,
                environment,
                explain=explain_dump_failure,
                timeout_seconds=self.timeout_seconds,
                timeout_explanation=(
                    f"it did not finish within {self.timeout_seconds:g} s (DB_INIT_BACKUP_TIMEOUT_SECONDS,"
                    " piefed:backup.timeoutMinutes) and was stopped, before any migration. A long-held lock on a table"
                    " also holds pg_dump up; otherwise raise piefed:backup.timeoutMinutes"
                ),
            )
            listing = run_tool("backup check", ["pg_restore", "--list", partial], None, capture=True)
            size = os.path.getsize(partial)
            if size == 0 or not listing.strip():
                raise GateFailure(f"the backup {partial} is empty ({size} bytes); pg_dump's output above says why")
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        log(
            f"backup verified: {path}, {size} bytes, {len(listing.splitlines())} entries,"
            f" in {time.monotonic() - started:.1f} s"
        )
        self.rotate()
        return path

    def rotate(self):
        while len(self.dumps()) > self.keep and (candidates := self.removable()):
            self.remove(candidates[0], f"keeping the newest {self.keep}, DB_INIT_BACKUP_KEEP")
        self.clear_unfinished()

    def clear_unfinished(self):
        # A run killed while dumping leaves its partial file behind; only the lock holder dumps.
        for name in os.listdir(self.directory):
            if name.endswith(PARTIAL_SUFFIX):
                os.remove(os.path.join(self.directory, name))
                log(f"removed the unfinished backup {name}")

    def to_restore(self, migrations):
        """The dump to restore: DB_RESTORE_FILE, or the newest taken at a revision this image knows."""
        requested = os.environ.get("DB_RESTORE_FILE", "").strip()
        dumps = self.dumps()
        if requested:
            match = [(name, revision) for name, revision in dumps if name == requested]
            if not match:
                raise GateFailure(
                    f"DB_RESTORE_FILE={requested!r} is not a backup in {self.directory}; there are: "
                    + (", ".join(name for name, _ in dumps) or "none")
                )
            name, revision = match[0]
        else:
            usable = [(name, revision) for name, revision in dumps if migrations.restorable(revision)]
            if not usable:
                raise GateFailure(
                    f"no backup in {self.directory} was taken at a revision this image knows (head"
                    f" {describe(migrations.heads)}); there are: " + (", ".join(name for name, _ in dumps) or "none")
                )
            name, revision = usable[0]
        if not migrations.restorable(revision):
            raise GateFailure(
                f"{name} was taken at revision {revision}, which this image's migrations do not know:"
                " restore it with the image that took it, or a newer one"
            )
        return os.path.join(self.directory, name), revision


def explain_dump_failure(output):
    if "No space left on device" in output:
        return "the backup volume is full: raise piefed:backup.size or lower piefed:backup.keep"
    if "server version mismatch" in output:
        return "this image's pg_dump is older than the PostgreSQL server: use an image with a newer postgresql-client"
    if "permission denied" in output:
        return "the database user may not read every object: grant it SELECT on all of PieFed's tables and sequences"
    return "pg_dump's output is above"


def run_tool(title, argv, environment, capture=False, explain=None, timeout_seconds=None, timeout_explanation=None):
    """Runs a PostgreSQL client tool (environment None: this process's), stopped after timeout_seconds.

    Returns its stdout when captured, else streams it."""
    try:
        child = subprocess.Popen(
            argv, env=environment, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE, text=True
        )
    except OSError as error:
        raise GateFailure(f"cannot start the {title} command {argv[0]!r}: {error.strerror}") from None
    try:
        output, errors = child.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise GateFailure(f"the {title} ({argv[0]}) was too slow: {timeout_explanation}") from None
    except Terminated:
        child.send_signal(signal.SIGTERM)
        child.wait()
        raise
    if errors:
        sys.stderr.write(errors)
        sys.stderr.flush()
    if child.returncode != 0:
        reason = explain(errors) if explain else f"{argv[0]}'s output is above"
        raise GateFailure(f"the {title} ({argv[0]}) exited with code {child.returncode}: {reason}")
    return output


def run_step(title, argv, answers=None, environment_overrides=None, watch_for=None):
    """Runs a command to its end; `answers` go to its standard input, which is otherwise closed.

    With `watch_for`, the command's output is passed through line by line, and the return value
    says whether a line contained it."""
    log(f"running the {title}: {shlex.join(argv)}")
    started = time.monotonic()
    # The command's output is the diagnosis when it fails: let Python children write as they go.
    # The administrator's password reaches a child on its standard input only.
    environment = {name: value for name, value in os.environ.items() if name not in ADMIN_VARIABLES}
    environment["PYTHONUNBUFFERED"] = "1"
    environment.update(environment_overrides or {})
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT} if watch_for else {}
    seen = False
    try:
        child = subprocess.Popen(argv, env=environment, stdin=subprocess.PIPE, text=True, **output)
    except OSError as error:
        raise GateFailure(f"cannot start the {title} command {argv[0]!r}: {error.strerror}") from None
    try:
        try:
            child.stdin.write(answers or "")
            child.stdin.close()
        except BrokenPipeError:
            pass  # The command ended without reading: its exit code says why.
        if watch_for:
            for line in child.stdout:
                print(line, end="", flush=True)
                seen = seen or watch_for in line
        returncode = child.wait()
    except Terminated:
        child.send_signal(signal.SIGTERM)
        if watch_for:
            # What the command says as it stops is the diagnosis too.
            for line in child.stdout:
                print(line, end="", flush=True)
        child.wait()
        raise
    if returncode < 0:
        raise GateFailure(
            f"the {title} command was killed by {signal.Signals(-returncode).name}; its output, if any, is above"
        )
    if returncode > 0 and not seen:
        raise GateFailure(f"the {title} command exited with code {returncode}; its output is above")
    if returncode > 0:
        return True
    log(f"the {title} finished in {time.monotonic() - started:.1f} s")
    return False


def migrate_without_stalling(postgres, lock, lock_timeout_seconds, retry_seconds):
    """Runs `flask db upgrade` with every statement's wait for a lock bounded by lock_timeout.

    An ALTER TABLE queued behind a long transaction would otherwise hold up every later query on
    that table, for the whole site. Alembic runs the migration in one transaction (PieFed's
    migrations/env.py, v1.7.7: one begin_transaction() around run_migrations()), which a lock
    timeout rolls back whole, so the run names the sessions that held the locks, pauses (doubling
    the pause each time) and tries again until `retry_seconds` have passed."""
    milliseconds = max(1, round(lock_timeout_seconds * 1000))
    options = f"{os.environ.get('PGOPTIONS', '')} -c lock_timeout={milliseconds}".strip()
    started = time.monotonic()
    pause = FIRST_LOCK_RETRY_PAUSE_SECONDS
    attempt = 1
    while True:
        lock.verify("migration")
        timed_out = run_step(
            "migration", MIGRATE_COMMAND, environment_overrides={"PGOPTIONS": options}, watch_for=LOCK_TIMEOUT_MESSAGE
        )
        if not timed_out:
            return
        holders = postgres.lock_holders([lock.backend_pid])
        named = "; ".join(holders) if holders else "none any more"
        if time.monotonic() - started + pause > retry_seconds:
            raise GateFailure(
                f"the migration waited more than {lock_timeout_seconds:g} s for a lock in each of {attempt} attempts"
                f" over {time.monotonic() - started:.0f} s (DB_INIT_LOCK_RETRY_SECONDS) and was rolled back;"
                " the sessions"
                f" holding locks on the tables: {named}. Nothing was migrated: end those transactions and run"
                " `pulumi up` again"
            )
        log(
            f"the migration waited more than {lock_timeout_seconds:g} s for a lock (attempt {attempt}) and was rolled"
            f" back; sessions holding locks on the tables: {named}; trying again in {pause:g} s"
        )
        time.sleep(pause)
        pause *= 2
        attempt += 1


def image_older_than_database(revisions, unknown, migrations, backups):
    if backups is None:
        backup = "; no backup directory is configured"
    else:
        dumps = backups.dumps()
        restorable = [name for name, revision in dumps if migrations.restorable(revision)]
        backup = (
            f"; the newest backup this image can restore is {restorable[0]}"
            if restorable
            else f"; no backup in {backups.directory} was taken at a revision this image knows"
        )
    return GateFailure(
        f"the database is at revision {describe(revisions)}, and this image's migrations do not know"
        f" {describe(unknown)} (their head is {describe(migrations.heads)}): the image is older than the database,"
        ' and PieFed would fail with "Can\'t locate revision". Nothing was migrated or seeded. Deploy the image'
        " that migrated the database, or a newer one; to go back to this image, restore a backup taken at a"
        ' revision it knows (docs/operations.md, "Restoring a backup")' + backup
    )


def migrate(postgres, lock, migrations, backups, admin, lock_timeout_seconds, lock_retry_seconds):
    revisions = postgres.revisions()
    unknown = migrations.unknown(revisions)
    if unknown:
        raise image_older_than_database(revisions, unknown, migrations, backups)
    if revisions and revisions <= migrations.heads:
        log(f"the database is at the image's head {describe(migrations.heads)}: nothing to migrate")
    else:
        log(f"a migration is pending: {describe(revisions)} -> {describe(migrations.heads)}")
        if backups is None:
            log(
                "no backup before migrating (DB_INIT_BACKUP_DIRECTORY is not set: piefed:backup.beforeMigration is off)"
            )
        elif not revisions:
            log("no backup before migrating: the database has no schema yet")
        else:
            backups.take(postgres, lock, revisions, migrations.heads)
        migrate_without_stalling(postgres, lock, lock_timeout_seconds, lock_retry_seconds)
        migrated = postgres.revisions()
        if migrated != migrations.heads:
            raise GateFailure(
                f"the migration command succeeded but the database is at {describe(migrated)},"
                f" not at the image's head {describe(migrations.heads)}; its output above says why"
            )

    lock.verify("seed decision")
    site_has_row, user_exists = postgres.instance_contents()
    if site_has_row or user_exists:
        log(
            f"the instance has data (site row: {'yes' if site_has_row else 'no'},"
            f" user: {'yes' if user_exists else 'no'}); not seeding"
        )
        return
    log(f"first install (no site row and no user): seeding, with the administrator {admin.user_name}")
    run_step("seed", SEED_COMMAND, admin.answers())
    site_has_row, _ = postgres.instance_contents()
    if not site_has_row:
        raise GateFailure(
            "the seed command succeeded but the site table is still empty; its output above says why"
            " (init-db refuses without alembic_version and on a database not encoded in UTF8)"
        )
    if not postgres.user_exists(admin.user_name):
        raise GateFailure(
            f"the seed command succeeded but created no user {admin.user_name}; its output above says why"
        )


def restore(postgres, lock, migrations, backups, sessions_wait_seconds, retry_interval):
    path, revision = backups.to_restore(migrations)
    wait_for_other_sessions_to_end(postgres, [lock.backend_pid], sessions_wait_seconds, retry_interval)
    log(f"restoring {path} (taken at revision {revision}) into {postgres.description}")
    started = time.monotonic()
    # Listing a dump reads the file alone: no connection, so no password in its environment.
    run_tool("restore check", ["pg_restore", "--list", path], None, capture=True)
    lock.verify("restore")
    restore_atomically(postgres, path)
    log(
        f"restored in {time.monotonic() - started:.1f} s; the database is at revision {describe(postgres.revisions())}."
        " Deploy an image whose migrations know this revision and run `pulumi up`"
    )


def wait_for_other_sessions_to_end(postgres, own_pids, wait_seconds, retry_interval):
    """Waits, bounded, until no other session is connected: a pod of the app stopped by maintenance
    mode ends its sessions only once its grace period is over, and a scheduled run already started
    finishes first. A restore under a live app would be overwritten by it, so it never starts."""
    deadline = time.monotonic() + wait_seconds
    reported = None
    while True:
        others = postgres.other_sessions(own_pids)
        if not others:
            return
        if time.monotonic() >= deadline:
            raise GateFailure(
                f"{len(others)} other session(s) are still connected to the database after {wait_seconds:g} s:"
                f" {', '.join(others)}. Stop everything that writes first (piefed:maintenance.enabled: true"
                " and `pulumi up`; a scheduled run already started finishes first: kubectl get jobs);"
                " nothing was changed"
            )
        if others != reported:
            log(f"waiting up to {wait_seconds:g} s for {len(others)} other session(s) to end: {', '.join(others)}")
            reported = others
        time.sleep(min(retry_interval, max(deadline - time.monotonic(), 0)))


def restore_atomically(postgres, path):
    """Empties the schema and restores the dump in one transaction, which commits only at the end.

    pg_restore --clean would keep what a later migration added (tables the dump does not know),
    and the next `flask db upgrade` would then fail on them, so the schema is emptied first; and
    emptying it in a transaction of its own would leave an empty database behind a restore that
    fails or is killed. So pg_restore writes the dump as SQL, psql runs CLEAR_SCHEMA and that SQL
    in one transaction, and COMMIT is sent only once pg_restore has succeeded. A restore that
    fails, is stopped or is killed (the Job's deadline) ends psql's input or connection before the
    COMMIT: PostgreSQL rolls everything back and the database is as it was."""
    psql_argv, environment = postgres.client_tool(["psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"])
    script_argv = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--file=-", path]
    try:
        psql = subprocess.Popen(psql_argv, env=environment, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        script = subprocess.Popen(script_argv, stdout=subprocess.PIPE)
    except OSError as error:
        raise GateFailure(f"cannot start the restore: {error.strerror}") from None
    try:
        try:
            psql.stdin.write(b"BEGIN;\n" + CLEAR_SCHEMA.encode() + b"\n")
            for chunk in iter(lambda: script.stdout.read(65536), b""):
                psql.stdin.write(chunk)
            if script.wait() != 0:
                raise GateFailure(
                    f"pg_restore could not read {path} (exit code {script.returncode}; its output is above);"
                    " nothing was changed: the restore was rolled back"
                )
            psql.stdin.write(b"COMMIT;\n")
            psql.stdin.close()
        except BrokenPipeError:
            pass  # psql stopped at an error before reading everything: its exit code says so.
        if psql.wait() != 0:
            raise GateFailure(
                f"psql stopped the restore of {path} at an error (exit code {psql.returncode}; its output is above);"
                " nothing was changed: the restore was rolled back"
            )
    finally:
        for child in (script, psql):
            if child.poll() is None:
                child.kill()
                child.wait()


def run(mode, postgres, cache, timeout_seconds, retry_interval, migrations_directory, backups, admin, limits):
    deadline = time.monotonic() + timeout_seconds
    dependencies = (postgres, cache) if mode == "migrate" else (postgres,)
    log(
        f"{mode}: waiting up to {timeout_seconds:g} s for {' and '.join(d.description for d in dependencies)}"
        f" and the migration lock (an attempt every {retry_interval:g} s)"
    )
    for dependency in dependencies:
        wait_until_ready(dependency, deadline, timeout_seconds, retry_interval)
    migrations = Migrations(migrations_directory)
    lock = MigrationLock(postgres)
    try:
        lock.acquire(deadline, timeout_seconds, retry_interval)
        if mode == "migrate":
            migrate(postgres, lock, migrations, backups, admin, limits.lock_timeout, limits.lock_retry)
        elif mode == "backup":
            revisions = postgres.revisions()
            backups.take(postgres, lock, revisions)
        else:
            restore(postgres, lock, migrations, backups, limits.sessions_wait, retry_interval)
    finally:
        lock.release()


Limits = collections.namedtuple("Limits", ["lock_timeout", "lock_retry", "sessions_wait"])


def stop_on_sigterm(_signum, _frame):
    raise Terminated()


def main(arguments):
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        if len(arguments) > 1 or (arguments and arguments[0] not in MODES):
            raise ConfigurationError(
                f"unknown arguments {arguments}; expected one of {', '.join(MODES)}, or none for migrate"
            )
        mode = arguments[0] if arguments else "migrate"
        postgres = Postgres(read_required("DATABASE_URL"), mode)
        cache = Redis(read_required("CACHE_REDIS_URL")) if mode == "migrate" else None
        admin = Admin(os.environ) if mode == "migrate" else None
        timeout_seconds = read_seconds("DB_INIT_DEPENDENCY_TIMEOUT_SECONDS", DEFAULT_DEPENDENCY_TIMEOUT_SECONDS)
        retry_interval = read_seconds("DB_INIT_RETRY_INTERVAL_SECONDS", DEFAULT_RETRY_INTERVAL_SECONDS)
        limits = Limits(
            lock_timeout=read_seconds("DB_INIT_LOCK_TIMEOUT_SECONDS", DEFAULT_LOCK_TIMEOUT_SECONDS),
            lock_retry=read_seconds("DB_INIT_LOCK_RETRY_SECONDS", DEFAULT_LOCK_RETRY_SECONDS),
            sessions_wait=read_seconds("DB_RESTORE_SESSIONS_WAIT_SECONDS", DEFAULT_SESSIONS_WAIT_SECONDS),
        )
        migrations_directory = (
            os.environ.get("DB_INIT_MIGRATIONS_DIRECTORY", "").strip() or DEFAULT_MIGRATIONS_DIRECTORY
        )
        backup_directory = os.environ.get("DB_INIT_BACKUP_DIRECTORY", "").strip()
        if not backup_directory and mode != "migrate":
            raise ConfigurationError(f"DB_INIT_BACKUP_DIRECTORY is not set; {mode} needs the backup volume")
        keep = read_count("DB_INIT_BACKUP_KEEP", DEFAULT_BACKUP_KEEP)
        backup_timeout = read_seconds("DB_INIT_BACKUP_TIMEOUT_SECONDS", DEFAULT_BACKUP_TIMEOUT_SECONDS)
        backups = Backups(backup_directory, keep, backup_timeout) if backup_directory else None
    except ConfigurationError as error:
        print(f"db-init: configuration error: {error}", file=sys.stderr, flush=True)
        return 2
    try:
        run(mode, postgres, cache, timeout_seconds, retry_interval, migrations_directory, backups, admin, limits)
    except GateFailure as error:
        print(f"db-init: FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    except Terminated:
        print("db-init: stopped by SIGTERM", file=sys.stderr, flush=True)
        return 143
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
