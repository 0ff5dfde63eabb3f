using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using PieFed.Infra.Scripts;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// db_init.py exactly as shipped, run as a process against the real loopback PostgreSQL and Redis, each
/// test in a fresh database. Only `flask db upgrade` and `flask init-db` are replaced, by stand-ins that
/// change the database for real (StandIns/): a wrong seed decision deletes rows, and the test sees it.
/// </summary>
[Collection(MigrationGateProcesses.Name)]
[SupportedOSPlatform("linux")]
public sealed class DbInitTests : IAsyncLifetime
{
    private static readonly TimeSpan HardTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan OutputTimeout = TimeSpan.FromSeconds(30);

    private TestDatabase? _database;
    private TestRedis? _redis;

    private TestDatabase Database => _database!;

    private TestRedis Redis => _redis!;

    public async Task InitializeAsync()
    {
        _redis = await TestRedis.ConnectAsync();
        _database = await TestDatabase.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [Fact]
    public async Task EmptyDatabase_IsMigratedThenSeeded()
    {
        // Shell syntax in an argument must arrive verbatim: commands are split with shlex, never run by a shell.
        const string label = "first install; $(touch /tmp/piefed-gate-shell) * done";
        await using var dbInit = StartDbInit(migrateArguments: $"--label {Quote(label)}");

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"STANDIN-MIGRATE: label={label}");
        OutputAssert.InOrder(dbInit, "STANDIN-MIGRATE: schema at head", "STANDIN-SEED: dropped and rebuilt");
        Assert.Equal(["PieFed"], await Database.QueryColumnAsync("SELECT name FROM site"));
    }

    [Fact]
    public async Task DefaultSettings_RunFlaskDbUpgradeThenFlaskInitDb()
    {
        // The image's `flask` is replaced on PATH by a stand-in that accepts only the two expected commands.
        var bin = Directory.CreateTempSubdirectory("piefed-flask-").FullName;
        try
        {
            var flask = Path.Combine(bin, "flask");
            await File.WriteAllTextAsync(flask, $"#!/bin/sh\nexec {Quote(ScriptProcess.Python)} {Quote(StandIn("standin_flask.py"))} \"$@\"\n");
            File.SetUnixFileMode(flask, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await using var postgres = new TcpForwarder(Database.ServerEndpoint);
            await using var dbInit = StartDbInit(
                databaseUrl: Database.SqlAlchemyUrl(port: postgres.Port),
                environment: new()
                {
                    ["PATH"] = $"{bin}:/usr/bin:/bin",
                    ["DB_INIT_DEPENDENCY_TIMEOUT_SECONDS"] = null,
                    ["DB_INIT_RETRY_INTERVAL_SECONDS"] = null,
                    ["DB_INIT_MIGRATE_COMMAND"] = null,
                    ["DB_INIT_SEED_COMMAND"] = null,
                });

            await dbInit.WaitForOutputAsync("not ready (attempt 1)", OutputTimeout);
            postgres.BringUp();

            await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
            OutputAssert.Contains(dbInit, "waiting up to 300 s for PostgreSQL");
            OutputAssert.Contains(dbInit, "(an attempt every 2 s)");
            OutputAssert.Contains(dbInit, "retrying in 2.0 s");
            OutputAssert.InOrder(dbInit, "STANDIN-FLASK: flask db upgrade", "STANDIN-MIGRATE: schema at head", "STANDIN-FLASK: flask init-db --interactive no", "STANDIN-SEED: dropped and rebuilt");
            Assert.Equal(["PieFed"], await Database.QueryColumnAsync("SELECT name FROM site"));
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
    }

    [Fact]
    public async Task MigratedButNeverSeeded_IsSeededOnTheRetry()
    {
        await MigrateWithStandInAsync();

        await using var dbInit = StartDbInit();

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-SEED: dropped and rebuilt");
        Assert.Equal(["PieFed"], await Database.QueryColumnAsync("SELECT name FROM site"));
    }

    [Fact]
    public async Task InstanceWithSiteAndUsers_IsMigratedButNeverSeededAgain()
    {
        await MigrateWithStandInAsync();
        await Database.ExecuteAsync("INSERT INTO site (name) VALUES ('my.instance'); INSERT INTO \"user\" (user_name) VALUES ('alice'), ('bob')");

        await using var dbInit = StartDbInit();

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-MIGRATE: schema at head");
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
        Assert.Equal(["my.instance"], await Database.QueryColumnAsync("SELECT name FROM site"));
        Assert.Equal(["alice", "bob"], await Database.QueryColumnAsync("SELECT user_name FROM \"user\" ORDER BY id"));
    }

    [Theory]
    [InlineData("INSERT INTO site (name) VALUES ('my.instance')", "SELECT name FROM site", "my.instance")]
    [InlineData("INSERT INTO \"user\" (user_name) VALUES ('alice')", "SELECT user_name FROM \"user\"", "alice")]
    public async Task InstanceWithEitherASiteRowOrAUser_IsNotSeeded(string insert, string select, string survivor)
    {
        await MigrateWithStandInAsync();
        await Database.ExecuteAsync(insert);

        await using var dbInit = StartDbInit();

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
        Assert.Equal([survivor], await Database.QueryColumnAsync(select));
    }

    [Fact]
    public async Task MissingSiteAndUserTables_CountAsEmpty()
    {
        // Migrated as far as Alembic knows, but neither table exists: nothing to lose, so seed.
        await Database.ExecuteAsync("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)");

        await using var dbInit = StartDbInit(migrateArguments: "--without-schema");

        await OutputAssert.ExitsWith(0, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-SEED: dropped and rebuilt");
        Assert.Equal(["PieFed"], await Database.QueryColumnAsync("SELECT name FROM site"));
    }

    [Fact]
    public async Task SeedThatExitsZeroWithoutSeeding_Fails()
    {
        // Like init-db, the stand-in prints a refusal and exits 0 when alembic_version is missing.
        await using var dbInit = StartDbInit(migrateArguments: "--without-schema");

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-SEED: Error: alembic_version table not found");
        OutputAssert.Contains(dbInit, "the seed command succeeded but the site table is still empty");
    }

    [Fact]
    public async Task FailingSeed_FailsWithItsOutput()
    {
        await using var dbInit = StartDbInit(seedArguments: "--fail");

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-SEED: FAILED: could not generate the site key pair");
        OutputAssert.Contains(dbInit, "the seed command exited with code 1");
    }

    [Fact]
    public async Task FailingMigration_FailsWithItsOutputAndDoesNotSeed()
    {
        await using var dbInit = StartDbInit(migrateArguments: "--fail");

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-MIGRATE: applying revision 0042 (stdout)");
        OutputAssert.Contains(dbInit, "STANDIN-MIGRATE: FAILED: relation \"post\" already exists (stderr)");
        OutputAssert.Contains(dbInit, "db-init: FAILED: the migration command exited with code 1");
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
        Assert.False(await Database.TableExistsAsync("site"));
    }

    [Fact]
    public async Task MigrationKilledBySignal_FailsNamingTheSignal()
    {
        await using var dbInit = StartDbInit(migrateArguments: "--kill-itself");

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-MIGRATE: about to be killed");
        OutputAssert.Contains(dbInit, "the migration command was killed by SIGKILL");
    }

    [Fact]
    public async Task MigrationCommandThatCannotStart_FailsClearly()
    {
        await using var dbInit = StartDbInit(environment: new() { ["DB_INIT_MIGRATE_COMMAND"] = "/nonexistent/flask db upgrade" });

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "cannot start the migration command '/nonexistent/flask': No such file or directory");
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
        OutputAssert.DoesNotContain(dbInit, "STANDIN-MIGRATE");
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
        OutputAssert.DoesNotContain(dbInit, "STANDIN-MIGRATE");
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
        OutputAssert.DoesNotContain(dbInit, "STANDIN-MIGRATE");
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
        OutputAssert.Contains(dbInit, "STANDIN-SEED: dropped and rebuilt");
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
    [InlineData("DB_INIT_SEED_COMMAND", "flask init-db --interactive 'no", "DB_INIT_SEED_COMMAND cannot be split into arguments")]
    public async Task Misconfiguration_ExitsTwoNamingTheSetting(string name, string value, string message)
    {
        await using var dbInit = StartDbInit(environment: new() { [name] = value });

        await OutputAssert.ExitsWith(2, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"db-init: configuration error: {message}");
        OutputAssert.DoesNotContain(dbInit, "secret");
        OutputAssert.DoesNotContain(dbInit, "ZZcret");
    }

    [Fact]
    public async Task Sigterm_IsForwardedToTheRunningCommandAndStopsDbInit()
    {
        await using var dbInit = StartDbInit(migrateArguments: "--run-until-terminated");
        // The stand-in does not flush this line: it only shows up before exit if db-init runs it unbuffered.
        await dbInit.WaitForOutputAsync("STANDIN-MIGRATE: running until terminated", OutputTimeout);

        dbInit.Terminate();

        await OutputAssert.ExitsWith(143, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-MIGRATE: received SIGTERM");
        OutputAssert.Contains(dbInit, "db-init: stopped by SIGTERM");
    }

    private static string StandIn(string fileName) => Path.Combine(AppContext.BaseDirectory, "MigrationGate", "StandIns", fileName);

    /// <summary>Quotes for shlex, as an operator would write the command in the environment variable.</summary>
    private static string Quote(string argument) => "'" + argument.Replace("'", "'\"'\"'", StringComparison.Ordinal) + "'";


    private ScriptProcess StartDbInit(
        string? databaseUrl = null,
        string? redisUrl = null,
        string migrateArguments = "",
        string seedArguments = "",
        double dependencyTimeoutSeconds = 30,
        double retryIntervalSeconds = 0.2,
        Dictionary<string, string?>? environment = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = databaseUrl ?? Database.SqlAlchemyUrl(),
            ["CACHE_REDIS_URL"] = redisUrl ?? Redis.Url(),
            ["DB_INIT_DEPENDENCY_TIMEOUT_SECONDS"] = dependencyTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
            ["DB_INIT_RETRY_INTERVAL_SECONDS"] = retryIntervalSeconds.ToString(CultureInfo.InvariantCulture),
            ["DB_INIT_MIGRATE_COMMAND"] = $"{Quote(ScriptProcess.Python)} {Quote(StandIn("standin_migrate.py"))} {migrateArguments}",
            ["DB_INIT_SEED_COMMAND"] = $"{Quote(ScriptProcess.Python)} {Quote(StandIn("standin_seed.py"))} {seedArguments}",
        };
        foreach (var (name, value) in environment ?? [])
        {
            if (value is null)
            {
                settings.Remove(name);
            }
            else
            {
                settings[name] = value;
            }
        }

        return ScriptProcess.Start(MigrationScripts.DbInit, MigrationScripts.DbInitFileName, settings);
    }

    /// <summary>Leaves the database as a previous Job run would have: migrated to head, no rows.</summary>
    private async Task MigrateWithStandInAsync()
    {
        await using var migrate = ScriptProcess.Start(
            await File.ReadAllTextAsync(StandIn("standin_migrate.py")),
            "standin_migrate.py",
            new Dictionary<string, string> { ["DATABASE_URL"] = Database.SqlAlchemyUrl() });
        await OutputAssert.ExitsWith(0, migrate, HardTimeout);
    }
}
