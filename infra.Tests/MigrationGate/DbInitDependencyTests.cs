using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// db_init.py exactly as shipped, against PostgreSQL and Redis that are down, hung, or refuse its
/// credentials: what it waits for, until when, and what it gives up on at once.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DbInitDependencyTests : StandInInstanceTest
{
    private static readonly TimeSpan HardTimeout = DbInit.HardTimeout;
    private static readonly TimeSpan OutputTimeout = DbInit.OutputTimeout;

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
        // Counted from the script's first line, which it writes as it sets its deadline: Python's start is not the script's to answer for.
        await dbInit.WaitForOutputAsync("waiting up to 1.5 s", DbInit.OutputTimeout);
        var sinceItStarted = Stopwatch.StartNew();

        await OutputAssert.ExitsWith(1, dbInit, HardTimeout);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"Gave up after {clock.Elapsed} instead of waiting 1.5 s. Output:\n{dbInit.Output}");
        Assert.True(sinceItStarted.Elapsed < TimeSpan.FromSeconds(4), $"Gave up after {sinceItStarted.Elapsed}, long past the 1.5 s deadline. Output:\n{dbInit.Output}");
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
        OutputAssert.Contains(dbInit, $"Redis 127.0.0.1:{redis.Port}/{Redis.Database} not ready (attempt 2): Error 111 connecting");
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
        OutputAssert.Contains(dbInit, $"db-init: FAILED: Redis 127.0.0.1:{redis.Port}/{Redis.Database} was not ready within 1.5 s");
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
        OutputAssert.Contains(dbInit, $"db-init: FAILED: Redis 127.0.0.1:{Redis.ServerEndpoint.Port}/{Redis.Database} rejected the credentials");
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
}
