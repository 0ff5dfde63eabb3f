using System.Globalization;
using System.Runtime.Versioning;
using Npgsql;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// Two db-init runs against one database, as happens when an old Job's pod is still running while
/// the next release's Job starts, or a pod is retried: the real PostgreSQL, the stand-in image's real
/// `flask db upgrade` (two concurrent ones collide on alembic_version) and its init-db, which drops
/// every table and writes a new site key, so a second seed is seen.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DbInitLockTests : StandInInstanceTest
{

    public static TheoryData<int> Repetitions => [1, 2, 3];

    [Theory]
    [MemberData(nameof(Repetitions))]
    public async Task TwoRunsAtTheSameMoment_MigrateOnceSeedOnceAndBothSucceed(int repetition)
    {
        await using var first = Start("pod-a");
        await using var second = Start("pod-b");

        var exitCodes = await Task.WhenAll(first.WaitForExitAsync(DbInit.HardTimeout), second.WaitForExitAsync(DbInit.HardTimeout));

        var outputs = $"{first.Output}\n{second.Output}";
        Assert.True(exitCodes is [0, 0], $"Repetition {repetition}: exit codes {string.Join(", ", exitCodes)}.\n{outputs}");
        Assert.Equal(1, ScriptProcess.CountOccurrences(outputs, "running the migration: flask db upgrade"));
        Assert.Equal(1, ScriptProcess.CountOccurrences(outputs, "STANDIN-SEED: inserted the site row"));
        Assert.Contains("waiting for the migration lock, held by 'piefed-db-init migrate pod-", outputs, StringComparison.Ordinal);
        Assert.Equal(1L, await Database.QueryAsync<long>("SELECT count(*) FROM site"));
    }

    [Theory]
    [MemberData(nameof(Repetitions))]
    public async Task SecondRunStartedWhileTheFirstSeeds_WaitsAndLosesNothingWrittenAfterTheFirstSucceeded(int repetition)
    {
        // The first run is held in its download until the second waits for the lock: however slowly
        // the second starts, it reaches the lock inside the window this test is about.
        var downloadHold = Path.GetTempFileName();
        try
        {
            await using var first = Start("pod-a", downloadHeldWhileExists: downloadHold);
            // init-db has dropped and rebuilt the tables and not yet written the site row: the window in
            // which a second run without the lock would find an empty instance and seed it again.
            await first.WaitForOutputAsync("STANDIN-SEED: dropped and rebuilt every model table", DbInit.OutputTimeout);
            await using var second = Start("pod-b");
            await second.WaitForOutputAsync("waiting for the migration lock, held by 'piefed-db-init migrate pod-a' (PostgreSQL backend pid", DbInit.OutputTimeout);
            File.Delete(downloadHold);

            await AssertSecondRunLosesNothingAsync(first, second, repetition);
        }
        finally
        {
            File.Delete(downloadHold);
        }
    }

    private async Task AssertSecondRunLosesNothingAsync(ScriptProcess first, ScriptProcess second, int repetition)
    {
        await OutputAssert.ExitsWith(0, first, DbInit.HardTimeout);
        var siteKey = await Database.QueryAsync<string>("SELECT private_key FROM site");
        await Database.ExecuteAsync("""
            INSERT INTO "user" (user_name) VALUES ('alice'), ('bob');
            INSERT INTO community (name) VALUES ('piefed_meta');
            INSERT INTO post (community_id, user_id, title) VALUES (1, 1, 'Hello');
            INSERT INTO post_reply (post_id, user_id, body) VALUES (1, 2, 'Welcome');
            """);
        await OutputAssert.ExitsWith(0, second, DbInit.HardTimeout);

        var keyAfterBoth = await Database.QueryAsync<string>("SELECT private_key FROM site");
        Assert.True(keyAfterBoth == siteKey, $"Repetition {repetition}: the site key changed, so the instance was seeded twice.\n{first.Output}\n{second.Output}");
        Assert.Equal(["alice", "bob"], await Database.QueryColumnAsync("SELECT user_name FROM \"user\" WHERE id > 1 ORDER BY id"));
        Assert.Equal(["piefed_meta"], await Database.QueryColumnAsync("SELECT name FROM community"));
        Assert.Equal(["Hello"], await Database.QueryColumnAsync("SELECT title FROM post"));
        Assert.Equal(["Welcome"], await Database.QueryColumnAsync("SELECT body FROM post_reply"));
        OutputAssert.Contains(second, "not seeding");
        OutputAssert.DoesNotContain(second, "STANDIN-SEED");
    }

    [Fact]
    public async Task LockHeldPastTheDeadline_FailsNamingTheHolderWithoutChangingAnything()
    {
        await using var holder = await HoldLockAsync("piefed-db-init migrate old-release-pod");
        await using var dbInit = DbInit.Start(Database, Redis, Image, dependencyTimeoutSeconds: 2);

        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "waiting for the migration lock, held by 'piefed-db-init migrate old-release-pod' (PostgreSQL backend pid");
        OutputAssert.Contains(dbInit, "db-init: FAILED: another run still holds the migration lock after 2 s (DB_INIT_DEPENDENCY_TIMEOUT_SECONDS)");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
        Assert.False(await Database.TableExistsAsync("alembic_version"));
    }

    [Fact]
    public async Task LockReleasedWithinTheDeadline_TheWaitingRunGoesOn()
    {
        var holder = await HoldLockAsync("piefed-db-init migrate old-release-pod");
        await using var dbInit = DbInit.Start(Database, Redis, Image);
        await dbInit.WaitForOutputAsync("waiting for the migration lock", DbInit.OutputTimeout);

        await holder.DisposeAsync();

        await OutputAssert.ExitsWith(0, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "STANDIN-SEED: inserted the site row");
    }

    [Fact]
    public async Task LockSessionLostDuringTheMigration_StopsBeforeTheSeedDecision()
    {
        // What a pooler that moved the session, or a restarted server, looks like to the run.
        Image.AddRevision("510e51ee0001", StandInImage.HeadRevision, """
                import time
                print("STANDIN-MIGRATE: slow revision started", flush=True)
                time.sleep(3)
            """);
        await using var dbInit = DbInit.Start(Database, Redis, Image, pod: "pod-a");
        await dbInit.WaitForOutputAsync("STANDIN-MIGRATE: slow revision started", DbInit.OutputTimeout);

        var terminated = await Database.QueryAsync<long>(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 1349076581 AND objid = 1"
            + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS t");

        Assert.Equal(1L, terminated);
        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "db-init: FAILED: lost the database session holding the migration lock before the seed decision");
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
    }

    private ScriptProcess Start(string pod, string? downloadHeldWhileExists = null) => DbInit.Start(
        Database,
        Redis,
        Image,
        pod: pod,
        environment: downloadHeldWhileExists is null ? null : new() { ["STANDIN_SEED_DOWNLOAD_HELD_WHILE_EXISTS"] = downloadHeldWhileExists });

    /// <summary>Takes the migration lock in a session of the test's own, named like another run.</summary>
    private async Task<NpgsqlConnection> HoldLockAsync(string applicationName)
    {
        var connection = await Database.ConnectAsync(applicationName);
        await using var command = new NpgsqlCommand(string.Create(CultureInfo.InvariantCulture, $"SELECT pg_advisory_lock({LockClass}, 1)"), connection);
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    /// <summary>db_init.py's lock: the two int4 keys "PiFe" and 1.</summary>
    private const int LockClass = 0x50694665;
}
