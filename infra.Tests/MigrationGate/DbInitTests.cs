using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// db_init.py exactly as shipped, run as a process in a <see cref="StandInImage"/> (PieFed's layout
/// under real Flask, Flask-Migrate and Alembic) against the real loopback PostgreSQL and Redis, each
/// test in a fresh database. The stand-in's init-db is as destructive as upstream's: a wrong seed
/// decision deletes rows, and the test sees it.
/// </summary>
[Collection(MigrationGateProcesses.Name)]
[SupportedOSPlatform("linux")]
public sealed class DbInitTests : StandInInstanceTest
{
    private static readonly TimeSpan HardTimeout = DbInit.HardTimeout;
    private static readonly TimeSpan OutputTimeout = DbInit.OutputTimeout;


    [Fact]
    public async Task EmptyDatabase_IsMigratedToTheImagesHeadThenSeeded()
    {
        await using var dbInit = StartDbInit();

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.InOrder(
            dbInit,
            $"a migration is pending: base -> {StandInImage.HeadRevision}",
            "no backup before migrating (DB_INIT_BACKUP_DIRECTORY is not set",
            "running the migration: flask db upgrade",
            $"STANDIN-MIGRATE: applied {StandInImage.InitialRevision}",
            $"STANDIN-MIGRATE: applied {StandInImage.HeadRevision}",
            "running the seed: flask init-db --interactive yes",
            "STANDIN-SEED: inserted the site row");
        Assert.Equal(["PieFed"], await Database.QueryColumnAsync("SELECT name FROM site"));
        Assert.Equal([StandInImage.HeadRevision], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task WithoutFlaskApp_TheStandInRefusesInitDbLikePieFed()
    {
        // What every first install did before the program set FLASK_APP: Flask finds the app package's
        // factory, `flask db upgrade` works there, and PieFed's own commands do not exist.
        await using var dbInit = StartDbInit(environment: new() { ["FLASK_APP"] = null });

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"STANDIN-MIGRATE: applied {StandInImage.HeadRevision}");
        OutputAssert.Contains(dbInit, "No such command 'init-db'");
        OutputAssert.Contains(dbInit, "db-init: FAILED: the seed command exited with code 2");
    }

    [Fact]
    public async Task MigratedButNeverSeeded_IsSeededOnTheRetry()
    {
        await FlaskAsync("db", "upgrade");

        await using var dbInit = StartDbInit();

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"the database is at the image's head {StandInImage.HeadRevision}: nothing to migrate");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
        OutputAssert.Contains(dbInit, "STANDIN-SEED: inserted the site row");
        Assert.Equal(["PieFed"], await Database.QueryColumnAsync("SELECT name FROM site"));
    }

    [Fact]
    public async Task InstanceWithSiteAndUsers_IsNeverSeededAgain()
    {
        await FlaskAsync("db", "upgrade");
        await Database.ExecuteAsync("INSERT INTO site (name, private_key) VALUES ('my.instance', 'key'); INSERT INTO \"user\" (user_name) VALUES ('alice'), ('bob')");

        await using var dbInit = StartDbInit();

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "the instance has data (site row: yes, user: yes); not seeding");
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
        Assert.Equal(["my.instance"], await Database.QueryColumnAsync("SELECT name FROM site"));
        Assert.Equal(["alice", "bob"], await Database.QueryColumnAsync("SELECT user_name FROM \"user\" ORDER BY id"));
    }

    [Theory]
    [InlineData("INSERT INTO site (name, private_key) VALUES ('my.instance', 'key')", "SELECT name FROM site", "my.instance")]
    [InlineData("INSERT INTO \"user\" (user_name) VALUES ('alice')", "SELECT user_name FROM \"user\"", "alice")]
    public async Task InstanceWithEitherASiteRowOrAUser_IsNotSeeded(string insert, string select, string survivor)
    {
        await FlaskAsync("db", "upgrade");
        await Database.ExecuteAsync(insert);

        await using var dbInit = StartDbInit();

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
        Assert.Equal([survivor], await Database.QueryColumnAsync(select));
    }

    [Fact]
    public async Task SeedThatExitsZeroWithoutSeeding_Fails()
    {
        // Like upstream's init-db, the stand-in prints a refusal and exits 0 on a database not encoded in UTF8.
        await using var asciiDatabase = await TestDatabase.CreateAsync(encoding: "SQL_ASCII");
        await using var dbInit = DbInit.Start(asciiDatabase, Redis, Image);

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-SEED: Error: the database is encoded in SQL_ASCII, not UTF8.");
        OutputAssert.Contains(dbInit, "the seed command succeeded but the site table is still empty");
    }

    [Fact]
    public async Task FailingSeed_FailsWithItsOutput()
    {
        // Migrated by the owner; db-init then runs as a role that may read but not drop the tables.
        await FlaskAsync("db", "upgrade");
        var role = "piefed_gate_reader_" + Database.Name[^12..];
        await Database.CreateRoleAsync(role, "reader-password");
        await Database.ExecuteAsync($"GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{role}\"");

        await using var dbInit = StartDbInit(databaseUrl: Database.SqlAlchemyUrl(username: role, password: "reader-password"));

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "must be owner of table");
        OutputAssert.Contains(dbInit, "db-init: FAILED: the seed command exited with code 1");
    }

    [Fact]
    public async Task FailingMigration_FailsWithItsOutputAndDoesNotSeed()
    {
        Image.AddRevision("f00dfa11ed01", StandInImage.HeadRevision, "    raise RuntimeError('STANDIN-MIGRATE: relation \"post\" already exists')");

        await using var dbInit = StartDbInit();

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-MIGRATE: relation \"post\" already exists");
        OutputAssert.Contains(dbInit, "db-init: FAILED: the migration command exited with code 1");
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
        // Alembic ran the whole upgrade in one transaction, and PostgreSQL rolled all of it back.
        Assert.False(await Database.TableExistsAsync("site"));
    }

    [Fact]
    public async Task MigrationKilledBySignal_FailsNamingTheSignal()
    {
        Image.AddRevision("dead0000beef", StandInImage.HeadRevision,
            "    import os, signal, sys\n    print('STANDIN-MIGRATE: about to be killed', flush=True)\n    os.kill(os.getpid(), signal.SIGKILL)");

        await using var dbInit = StartDbInit();

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-MIGRATE: about to be killed");
        OutputAssert.Contains(dbInit, "the migration command was killed by SIGKILL");
    }

    [Fact]
    public async Task FlaskThatCannotStart_FailsClearly()
    {
        await using var dbInit = StartDbInit(environment: new() { ["PATH"] = "/nonexistent" });

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "cannot start the migration command 'flask': No such file or directory");
    }

    [Fact]
    public async Task MigrationThatStopsShortOfTheHeadDbInitReads_Fails()
    {
        // DB_INIT_MIGRATIONS_DIRECTORY names scripts with one more revision than the app's `flask db upgrade` applies.
        var ahead = Path.Combine(Image.AppDirectory, "migrations-ahead");
        Directory.CreateDirectory(Path.Combine(ahead, "versions"));
        foreach (var file in Directory.GetFiles(Path.Combine(Image.AppDirectory, "migrations", "versions"), "*.py"))
        {
            File.Copy(file, Path.Combine(ahead, "versions", Path.GetFileName(file)));
        }

        await File.WriteAllTextAsync(
            Path.Combine(ahead, "versions", "aaaa0000ffff_unapplied.py"),
            $"revision = \"aaaa0000ffff\"\ndown_revision = \"{StandInImage.HeadRevision}\"\nbranch_labels = None\ndepends_on = None\n");

        await using var dbInit = StartDbInit(environment: new() { ["DB_INIT_MIGRATIONS_DIRECTORY"] = ahead });

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"the migration command succeeded but the database is at {StandInImage.HeadRevision}, not at the image's head aaaa0000ffff");
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
    }

    [Fact]
    public async Task PostgresDownThenUpWithinTheDeadline_Succeeds()
    {
        // The forwarder refuses connections like a PostgreSQL still starting, then forwards to the real one.
        await using var postgres = new TcpForwarder(Database.ServerEndpoint);
        await using var dbInit = StartDbInit(databaseUrl: Database.SqlAlchemyUrl(port: postgres.Port));

        await dbInit.WaitForOutputCountAsync("not ready", 2, OutputTimeout);
        postgres.BringUp();

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"PostgreSQL piefed_test@127.0.0.1:{postgres.Port}/{Database.Name} not ready (attempt 2): connection to server");
        OutputAssert.Contains(dbInit, "Connection refused");
        Assert.Equal(["PieFed"], await Database.QueryColumnAsync("SELECT name FROM site"));
    }

    [Fact]
    public async Task PostgresDownPastTheDeadline_FailsWithoutMigrating()
    {
        await using var postgres = new TcpForwarder(Database.ServerEndpoint);
        var clock = Stopwatch.StartNew();
        // A retry interval longer than the deadline: the wait before the last attempt must be cut short.
        await using var dbInit = StartDbInit(databaseUrl: Database.SqlAlchemyUrl(port: postgres.Port), dependencyTimeoutSeconds: 1.5, retryIntervalSeconds: 5);

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"Gave up after {clock.Elapsed} instead of waiting 1.5 s. Output:\n{dbInit.Output}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"Gave up after {clock.Elapsed}, long past the 1.5 s deadline. Output:\n{dbInit.Output}");
        OutputAssert.Contains(dbInit, "not ready (attempt 1): connection to server");
        // The last attempt, made at the deadline, still had the time to see the real reason.
        OutputAssert.Contains(dbInit, $"db-init: FAILED: PostgreSQL piefed_test@127.0.0.1:{postgres.Port}/{Database.Name} was not ready within 1.5 s");
        OutputAssert.Contains(dbInit, $"last reason: connection to server at \"127.0.0.1\", port {postgres.Port} failed: Connection refused");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
    }

    [Fact]
    public async Task RedisDownThenUpWithinTheDeadline_Succeeds()
    {
        // The forwarder refuses connections like a Redis still starting, then forwards to the real one.
        await using var redis = new TcpForwarder(Redis.ServerEndpoint);
        await using var dbInit = StartDbInit(redisUrl: Redis.Url(port: redis.Port));

        await dbInit.WaitForOutputCountAsync("not ready", 2, OutputTimeout);
        redis.BringUp();

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"Redis 127.0.0.1:{redis.Port}/0 not ready (attempt 2): Error 111 connecting");
        Assert.Equal(["PieFed"], await Database.QueryColumnAsync("SELECT name FROM site"));
    }

    [Fact]
    public async Task RedisDownPastTheDeadline_FailsWithoutMigrating()
    {
        await using var redis = new TcpForwarder(Redis.ServerEndpoint);
        var clock = Stopwatch.StartNew();
        await using var dbInit = StartDbInit(redisUrl: Redis.Url(port: redis.Port), dependencyTimeoutSeconds: 1.5);

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"Gave up after {clock.Elapsed} instead of waiting 1.5 s. Output:\n{dbInit.Output}");
        // The last attempt, made at the deadline, still had the time to see the real reason.
        OutputAssert.Contains(dbInit, $"db-init: FAILED: Redis 127.0.0.1:{redis.Port}/0 was not ready within 1.5 s");
        OutputAssert.Contains(dbInit, $"last reason: Error 111 connecting to 127.0.0.1:{redis.Port}. Connection refused");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
    }

    [Theory]
    [InlineData("PostgreSQL", "connection to server at \"127.0.0.1\", port {0} failed: timeout expired")]
    [InlineData("Redis", "Timeout reading from socket")]
    public async Task DependencyThatAcceptsConnectionsButNeverAnswers_IsGivenUpOnAfterTheDeadline(string dependency, string reasonFormat)
    {
        // Each attempt is bounded (5 s), so a hung server cannot eat the whole 6 s deadline in one attempt; the
        // last attempt, made at the deadline, gets 2 s instead of none (which to libpq would mean forever).
        await using var hung = new TcpForwarder(dependency == "Redis" ? Redis.ServerEndpoint : Database.ServerEndpoint);
        hung.BringUpUnresponsive();
        await using var dbInit = dependency == "Redis"
            ? StartDbInit(redisUrl: Redis.Url(port: hung.Port), dependencyTimeoutSeconds: 6, retryIntervalSeconds: 2)
            : StartDbInit(databaseUrl: Database.SqlAlchemyUrl(port: hung.Port), dependencyTimeoutSeconds: 6, retryIntervalSeconds: 2);

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        var reason = string.Format(CultureInfo.InvariantCulture, reasonFormat, hung.Port);
        OutputAssert.Contains(dbInit, $"not ready (attempt 1): {reason}");
        OutputAssert.Contains(dbInit, $"was not ready within 6 s (DB_INIT_DEPENDENCY_TIMEOUT_SECONDS) after 2 attempts; last reason: {reason}");
    }

    [Theory]
    [InlineData("not-the-password-7Qx", "password authentication failed for user \"piefed_test\"")]
    [InlineData("", "fe_sendauth: no password supplied")]
    public async Task WrongPostgresPassword_FailsAtOnceWithoutWaitingForTheDeadline(string wrongPassword, string reason)
    {
        await using var dbInit = StartDbInit(databaseUrl: Database.SqlAlchemyUrl(password: wrongPassword), dependencyTimeoutSeconds: 600);

        // Well inside the 600 s deadline: a rejected password is not retried.
        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "rejected the credentials");
        OutputAssert.Contains(dbInit, reason);
        OutputAssert.Contains(dbInit, "check the user and password in DATABASE_URL");
        OutputAssert.DoesNotContain(dbInit, "not ready");
        OutputAssert.DoesNotContain(dbInit, "not-the-password");
    }

    [Theory]
    [InlineData("not-the-password-7Qx")]
    [InlineData("")]
    public async Task WrongRedisCredentials_FailAtOnceWithoutWaitingForTheDeadline(string password)
    {
        await using var dbInit = StartDbInit(redisUrl: Redis.Url(password: password), dependencyTimeoutSeconds: 600);

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"db-init: FAILED: Redis 127.0.0.1:{Redis.ServerEndpoint.Port}/0 rejected the credentials");
        OutputAssert.Contains(dbInit, "check the user and password in CACHE_REDIS_URL");
        OutputAssert.DoesNotContain(dbInit, "not ready");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
    }

    [Fact]
    public async Task PostgresPasswordWithReservedCharacters_IsUrlDecodedAndNeverPrinted()
    {
        var role = "piefed_gate_role_" + Database.Name[^12..];
        const string password = "p@ss:w/rd?#%&+ é'\"x";
        await Database.CreateRoleAsync(role, password);
        await Database.ExecuteAsync($"GRANT ALL ON SCHEMA public TO \"{role}\"");
        var databaseUrl = Database.SqlAlchemyUrl(username: role, password: password);

        await using var dbInit = StartDbInit(databaseUrl: databaseUrl);

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        // db-init's own check after seeding read the site row through this role's connection.
        OutputAssert.Contains(dbInit, $"PostgreSQL {role}@127.0.0.1");
        OutputAssert.Contains(dbInit, "STANDIN-SEED: inserted the site row");
        OutputAssert.DoesNotContain(dbInit, password);
        OutputAssert.DoesNotContain(dbInit, Uri.EscapeDataString(password));
    }

    [Theory]
    [InlineData("DATABASE_URL", "", "DATABASE_URL is not set")]
    [InlineData("DATABASE_URL", "mysql://piefed:secret@db/piefed", "DATABASE_URL must have the form postgresql+psycopg2://")]
    [InlineData("DATABASE_URL", "postgresql+psycopg2://piefed:se%ZZcret@db/piefed", "DATABASE_URL cannot be parsed: invalid dsn: invalid percent-encoded token: \"***\"")]
    [InlineData("DATABASE_URL", "postgresql+psycopg2://piefed:secret@db/piefed?bogus=1", "DATABASE_URL cannot be parsed: invalid dsn: invalid URI query parameter: \"bogus\"")]
    [InlineData("CACHE_REDIS_URL", "", "CACHE_REDIS_URL is not set")]
    [InlineData("CACHE_REDIS_URL", "memcached://cache:11211", "CACHE_REDIS_URL cannot be parsed")]
    [InlineData("DB_INIT_DEPENDENCY_TIMEOUT_SECONDS", "five", "DB_INIT_DEPENDENCY_TIMEOUT_SECONDS='five' is not a number")]
    [InlineData("DB_INIT_RETRY_INTERVAL_SECONDS", "0", "DB_INIT_RETRY_INTERVAL_SECONDS must be a positive number")]
    [InlineData("DB_INIT_DEPENDENCY_TIMEOUT_SECONDS", "inf", "DB_INIT_DEPENDENCY_TIMEOUT_SECONDS must be a positive number")]
    [InlineData("DB_INIT_BACKUP_KEEP", "0", "DB_INIT_BACKUP_KEEP must be a whole number of at least 1, got '0'")]
    [InlineData("DB_INIT_BACKUP_KEEP", "seven", "DB_INIT_BACKUP_KEEP must be a whole number of at least 1, got 'seven'")]
    public async Task Misconfiguration_ExitsTwoNamingTheSetting(string name, string value, string message)
    {
        await using var dbInit = StartDbInit(environment: new() { [name] = value });

        await OutputAssert.ExitsWith(2, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"db-init: configuration error: {message}");
        OutputAssert.DoesNotContain(dbInit, "secret");
        OutputAssert.DoesNotContain(dbInit, "ZZcret");
    }

    [Theory]
    [InlineData("rollback", null, "unknown arguments ['rollback']; expected one of migrate, backup, restore, or none for migrate")]
    [InlineData("backup", null, "DB_INIT_BACKUP_DIRECTORY is not set; backup needs the backup volume")]
    [InlineData("restore", null, "DB_INIT_BACKUP_DIRECTORY is not set; restore needs the backup volume")]
    [InlineData("backup", "", "DB_INIT_BACKUP_DIRECTORY is not set; backup needs the backup volume")]
    public async Task ModeWithoutWhatItNeeds_ExitsTwoNamingIt(string mode, string? backupDirectory, string message)
    {
        await using var dbInit = StartDbInit(mode: mode, environment: new() { ["DB_INIT_BACKUP_DIRECTORY"] = backupDirectory });

        await OutputAssert.ExitsWith(2, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"db-init: configuration error: {message}");
    }

    [Fact]
    public async Task Sigterm_IsForwardedToTheRunningMigrationAndStopsDbInit()
    {
        // The line is not flushed on purpose: it only shows up before exit if db-init runs flask unbuffered.
        Image.AddRevision("5107e4a1c0de", StandInImage.HeadRevision, """
                import signal, sys, time
                def report_termination(_signum, _frame):
                    print("STANDIN-MIGRATE: received SIGTERM")
                    sys.exit(143)
                signal.signal(signal.SIGTERM, report_termination)
                print("STANDIN-MIGRATE: running until terminated")
                time.sleep(120)
            """);
        await using var dbInit = StartDbInit();
        await dbInit.WaitForOutputAsync("STANDIN-MIGRATE: running until terminated", OutputTimeout);

        dbInit.Terminate();

        await OutputAssert.ExitsWith(143, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-MIGRATE: received SIGTERM");
        OutputAssert.Contains(dbInit, "db-init: stopped by SIGTERM");
    }

    private ScriptProcess StartDbInit(
        string? databaseUrl = null,
        string? redisUrl = null,
        double dependencyTimeoutSeconds = 30,
        double retryIntervalSeconds = 0.2,
        Dictionary<string, string?>? environment = null,
        string? mode = null)
        => DbInit.Start(Database, Redis, Image, mode, databaseUrl, redisUrl, null, dependencyTimeoutSeconds, retryIntervalSeconds, environment: environment);

    private Task FlaskAsync(params string[] arguments) => DbInit.FlaskAsync(Database, Redis, Image, arguments);
}
