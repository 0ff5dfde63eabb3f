using System.Diagnostics;
using System.Runtime.Versioning;
using Npgsql;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// A migration that needs a lock a long transaction holds, run for real: db_init.py exactly as
/// shipped, the stand-in image's real Alembic, and a session of the test's own holding the table.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DbInitLockTimeoutTests : StandInInstanceTest
{
    private const string AlterRevision = "d4e5f6a7b8c9";

    [Fact]
    public async Task MigrationBehindALongTransaction_NeverStallsTheSitesQueriesAndCompletesOnceItEnds()
    {
        await using var longTransaction = await ReleaseThatAltersATableHeldByAsync("a-long-report");

        await using var dbInit = DbInit.Start(Database, Redis, Image, environment: new()
        {
            ["DB_INIT_LOCK_TIMEOUT_SECONDS"] = "1",
            ["DB_INIT_LOCK_RETRY_SECONDS"] = "60",
        });
        await dbInit.WaitForOutputAsync("and was rolled back; sessions holding locks on the tables: a-long-report", DbInit.OutputTimeout);

        // The site's queries on the table go on: behind a waiting ALTER TABLE they would queue until it ran.
        for (var query = 0; query < 5; query++)
        {
            await using var site = await Database.ConnectAsync("piefed-web");
            await using var read = new NpgsqlCommand("SET statement_timeout = '3s'; SELECT count(*) FROM post", site);
            var watch = Stopwatch.StartNew();
            await read.ExecuteNonQueryAsync();
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"a read of post waited {watch.Elapsed.TotalSeconds:0.0} s");
            await Task.Delay(300);
        }

        Assert.False(await ColumnExistsAsync());
        await using (var end = new NpgsqlCommand("COMMIT", longTransaction))
        {
            await end.ExecuteNonQueryAsync();
        }

        await OutputAssert.ExitsWith(0, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "holding post)");
        Assert.True(await ColumnExistsAsync());
        Assert.Equal([AlterRevision], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task MigrationThatNeverGetsItsLock_FailsNamingTheHolderAndMigratesNothing()
    {
        await using var longTransaction = await ReleaseThatAltersATableHeldByAsync("a-forgotten-session");

        await using var dbInit = DbInit.Start(Database, Redis, Image, environment: new()
        {
            ["DB_INIT_LOCK_TIMEOUT_SECONDS"] = "1",
            ["DB_INIT_LOCK_RETRY_SECONDS"] = "4",
        });

        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "db-init: FAILED: the migration waited more than 1 s for a lock in each of");
        OutputAssert.Contains(dbInit, "a-forgotten-session (pid");
        OutputAssert.Contains(dbInit, "Nothing was migrated");
        Assert.False(await ColumnExistsAsync());
        Assert.Equal([StandInImage.HeadRevision], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    /// <summary>
    /// An installed instance, an image whose next revision alters <c>post</c>, and a session of
    /// <paramref name="applicationName"/> in a transaction that has read <c>post</c> and stays open.
    /// </summary>
    private async Task<NpgsqlConnection> ReleaseThatAltersATableHeldByAsync(string applicationName)
    {
        await InstallAsync(Image);
        Image.AddRevision(AlterRevision, StandInImage.HeadRevision, "    op.execute(\"ALTER TABLE post ADD COLUMN pinned boolean NOT NULL DEFAULT false\")");
        var session = await Database.ConnectAsync(applicationName);
        await using var open = new NpgsqlCommand("BEGIN; SELECT count(*) FROM post", session);
        await open.ExecuteNonQueryAsync();
        return session;
    }

    private async Task<bool> ColumnExistsAsync()
        => await Database.QueryAsync<bool>("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'post' AND column_name = 'pinned')");
}
