"""Migrates PieFed's database for a release, and seeds it on the very first install only.

Runs as the migration Job's entrypoint in the stock PieFed image (cwd /app):

1. waits until PostgreSQL answers an authenticated query and Redis answers PING, both within one
   deadline, logging each failed attempt with its reason;
2. always runs the migration (`flask db upgrade`, a no-op when already at head);
3. runs the first-install seed (`flask init-db --interactive no`) only when the `site` table has no
   row and no user exists. init-db drops and rebuilds every table, so on an instance with data it
   would delete everything: the decision is taken from the data, never from the schema, and a
   missing table counts as empty. A first install interrupted between the two steps is therefore
   completed by the Job's retry, and an instance with data is never seeded again.

Rejected credentials fail at once instead of being retried until the deadline: waiting cannot fix
a wrong password, and the Job's backoffLimit still retries the pod if the role is created late
(some database operators create roles after the server starts accepting connections).

Environment:
  DATABASE_URL                        postgresql+psycopg2://user:password@host:port/db[?sslmode=...]
                                      (SQLAlchemy form, password URL-encoded)
  CACHE_REDIS_URL                     redis://[:password@]host:port/db (password URL-encoded)
  DB_INIT_DEPENDENCY_TIMEOUT_SECONDS  deadline for both dependencies together (default 300)
  DB_INIT_RETRY_INTERVAL_SECONDS      pause between attempts (default 2)
  DB_INIT_MIGRATE_COMMAND             default "flask db upgrade"
  DB_INIT_SEED_COMMAND                default "flask init-db --interactive no"
Commands are split like a POSIX shell would (shlex) but run without a shell. Their output goes
straight to this process's stdout/stderr.

Exit codes: 0 done, 1 failed, 2 misconfigured, 143 stopped by SIGTERM (forwarded to the command
that was running: as PID 1 of a container, Python would otherwise ignore SIGTERM).
"""

import math
import os
import shlex
import signal
import subprocess
import sys
import time

import psycopg2
import psycopg2.extensions
import psycopg2.sql
import redis

DEFAULT_DEPENDENCY_TIMEOUT_SECONDS = 300.0
DEFAULT_RETRY_INTERVAL_SECONDS = 2.0
DEFAULT_MIGRATE_COMMAND = "flask db upgrade"
DEFAULT_SEED_COMMAND = "flask init-db --interactive no"
SQLALCHEMY_POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg2")
# One attempt must not eat the whole deadline when connections hang (packets dropped, server stuck).
LONGEST_ATTEMPT_SECONDS = 5
# The last attempt, made when the deadline is (almost) reached, still gets time to report a real
# reason; and to libpq a connect_timeout of 0 means "wait forever".
SHORTEST_ATTEMPT_SECONDS = 2
# Messages with which PostgreSQL or libpq reject the credentials (PostgreSQL reports a missing
# role as a failed password, on purpose).
POSTGRES_CREDENTIAL_REJECTIONS = (
    "password authentication failed",
    "no password supplied",
)


class ConfigurationError(Exception):
    pass


class GateFailure(Exception):
    pass


class NotReady(Exception):
    pass


class CredentialsRejected(Exception):
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


def read_command(name, default):
    raw = os.environ.get(name, "").strip() or default
    try:
        return shlex.split(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} cannot be split into arguments: {error}") from None


def read_required(name):
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is not set")
    return value


class Postgres:
    def __init__(self, database_url):
        scheme, separator, rest = database_url.partition("://")
        if not separator or scheme not in SQLALCHEMY_POSTGRES_SCHEMES:
            raise ConfigurationError(
                "DATABASE_URL must have the form postgresql+psycopg2://user:password@host:port/database"
                f" (scheme found: {scheme if separator else 'none'!r})")
        # libpq reads the SQLAlchemy URL once the driver suffix is gone, percent-decoding included.
        self.setting = "DATABASE_URL"
        self.url = "postgresql://" + rest
        try:
            parameters = psycopg2.extensions.parse_dsn(self.url)
        except psycopg2.ProgrammingError as error:
            # libpq quotes the offending part, which may be a password that is not properly encoded.
            password = rest.split("/", 1)[0].rpartition("@")[0].partition(":")[2]
            reason = one_line(error).replace(password, "***") if password else one_line(error)
            raise ConfigurationError(f"DATABASE_URL cannot be parsed: {reason}") from None
        self.description = (
            f"PostgreSQL {parameters.get('user', '(default user)')}@{parameters.get('host', '(default host)')}"
            f":{parameters.get('port', 5432)}/{parameters.get('dbname', '(default database)')}")

    def connect(self, timeout_seconds=LONGEST_ATTEMPT_SECONDS):
        return psycopg2.connect(
            self.url,
            connect_timeout=max(SHORTEST_ATTEMPT_SECONDS, math.ceil(min(LONGEST_ATTEMPT_SECONDS, timeout_seconds))),
            application_name="piefed-db-init")

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
            raise NotReady(reason) from None

    def instance_contents(self):
        """Whether the `site` table has a row and whether a user exists (missing tables are empty)."""
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                return table_has_rows(cursor, "site"), table_has_rows(cursor, "user")
        finally:
            connection.close()


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
        self.description = f"Redis {options.get('host', 'localhost')}:{options.get('port', 6379)}/{options.get('db', 0)}"

    def probe(self, timeout_seconds):
        attempt_timeout = min(LONGEST_ATTEMPT_SECONDS, max(SHORTEST_ATTEMPT_SECONDS, timeout_seconds))
        client = redis.Redis.from_url(
            self.url, socket_connect_timeout=attempt_timeout, socket_timeout=attempt_timeout)
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
                f" check the user and password in {dependency.setting}") from None
        except NotReady as error:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GateFailure(
                    f"{dependency.description} was not ready within {timeout_seconds:g} s"
                    f" (DB_INIT_DEPENDENCY_TIMEOUT_SECONDS) after {attempt} attempts; last reason: {error}") from None
            pause = min(retry_interval, remaining)
            log(f"{dependency.description} not ready (attempt {attempt}): {error}; retrying in {pause:.1f} s")
            time.sleep(pause)
        else:
            log(f"{dependency.description} is ready (attempt {attempt}, {time.monotonic() - started:.1f} s)")
            return


def run_step(title, argv):
    log(f"running the {title}: {shlex.join(argv)}")
    started = time.monotonic()
    # The command's output is the diagnosis when it fails: let Python children write as they go.
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        child = subprocess.Popen(argv, env=environment)
    except OSError as error:
        raise GateFailure(f"cannot start the {title} command {argv[0]!r}: {error.strerror}") from None
    try:
        returncode = child.wait()
    except Terminated:
        child.send_signal(signal.SIGTERM)
        child.wait()
        raise
    if returncode < 0:
        raise GateFailure(
            f"the {title} command was killed by {signal.Signals(-returncode).name}; its output, if any, is above")
    if returncode > 0:
        raise GateFailure(f"the {title} command exited with code {returncode}; its output is above")
    log(f"the {title} finished in {time.monotonic() - started:.1f} s")


def initialise(postgres, cache, timeout_seconds, retry_interval, migrate_command, seed_command):
    deadline = time.monotonic() + timeout_seconds
    log(f"waiting up to {timeout_seconds:g} s for {postgres.description} and {cache.description}"
        f" (an attempt every {retry_interval:g} s)")
    for dependency in (postgres, cache):
        wait_until_ready(dependency, deadline, timeout_seconds, retry_interval)

    run_step("migration", migrate_command)

    site_has_row, user_exists = postgres.instance_contents()
    if site_has_row or user_exists:
        log(f"the instance has data (site row: {'yes' if site_has_row else 'no'},"
            f" user: {'yes' if user_exists else 'no'}); not seeding")
        return
    log("first install (no site row and no user): seeding")
    run_step("seed", seed_command)
    site_has_row, _ = postgres.instance_contents()
    if not site_has_row:
        raise GateFailure(
            "the seed command succeeded but the site table is still empty; its output above says why"
            " (init-db refuses without alembic_version and on a database not encoded in UTF8)")


def stop_on_sigterm(_signum, _frame):
    raise Terminated()


def main():
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        postgres = Postgres(read_required("DATABASE_URL"))
        cache = Redis(read_required("CACHE_REDIS_URL"))
        timeout_seconds = read_seconds("DB_INIT_DEPENDENCY_TIMEOUT_SECONDS", DEFAULT_DEPENDENCY_TIMEOUT_SECONDS)
        retry_interval = read_seconds("DB_INIT_RETRY_INTERVAL_SECONDS", DEFAULT_RETRY_INTERVAL_SECONDS)
        migrate_command = read_command("DB_INIT_MIGRATE_COMMAND", DEFAULT_MIGRATE_COMMAND)
        seed_command = read_command("DB_INIT_SEED_COMMAND", DEFAULT_SEED_COMMAND)
    except ConfigurationError as error:
        print(f"db-init: configuration error: {error}", file=sys.stderr, flush=True)
        return 2
    try:
        initialise(postgres, cache, timeout_seconds, retry_interval, migrate_command, seed_command)
    except GateFailure as error:
        print(f"db-init: FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    except Terminated:
        print("db-init: stopped by SIGTERM", file=sys.stderr, flush=True)
        return 143
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
