using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>The restore, atomic and never under a running app, run as db_init.py exactly as shipped.</summary>
[SupportedOSPlatform("linux")]
public sealed class DbInitRestoreTests : BackupVolumeTest
{
    [Fact]
    public async Task Restore_AfterADestructiveChange_BringsBackEveryRowAndRemovesWhatCameLater()
    {
        // docs/operations.md, "Restoring a backup": the restore Job runs `db_init.py restore`.
        await InstallAsync(Image);
        await WriteContentAsync();
        await RunAsync(Image, "backup");
        var counts = await RowCountsAsync();
        var contents = await ContentsAsync();
        await Database.ExecuteAsync("""
            DELETE FROM post_reply; DELETE FROM post WHERE id = 2;
            UPDATE "user" SET user_name = 'mallory' WHERE id = 1;
            INSERT INTO community (name) VALUES ('spam');
            CREATE TABLE added_by_a_later_migration (id int);
            UPDATE alembic_version SET version_num = 'ffffffffffff';
            """);

        var output = await RunAsync(Image, "restore");

        Assert.Contains("restored in", output, StringComparison.Ordinal);
        Assert.Equal(counts, await RowCountsAsync());
        Assert.Equal(contents, await ContentsAsync());
        Assert.False(await Database.TableExistsAsync("added_by_a_later_migration"));
        Assert.Equal([Head], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task Restore_FromAnOlderImage_PicksTheNewestDumpTakenAtARevisionItKnows()
    {
        await InstallAsync(OlderImage);
        await WriteContentAsync();
        await RunAsync(Image);
        await RunAsync(Image, "backup");
        await Database.ExecuteAsync("INSERT INTO \"user\" (user_name) VALUES ('written-after-the-upgrade')");

        var output = await RunAsync(OlderImage, "restore");

        Assert.Contains($"-at-{Initial}-before-{Head}.dump (taken at revision {Initial})", output, StringComparison.Ordinal);
        Assert.Equal([Initial], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
        Assert.Equal(["alice", "bob"], await Database.QueryColumnAsync("SELECT user_name FROM \"user\" WHERE id > 1 ORDER BY id"));
        // The older image runs again on its own schema: nothing pending, nothing seeded.
        var release = await RunAsync(OlderImage);
        Assert.Contains($"the database is at the image's head {Initial}: nothing to migrate", release, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_OfADumpThatBreaksOffMidway_LeavesTheDatabaseAsItWas()
    {
        await InstallAsync(Image);
        await WriteContentAsync();
        await Database.ExecuteAsync("INSERT INTO community (name) SELECT 'community ' || n FROM generate_series(1, 50000) n");
        await RunAsync(Image, "backup");
        var dump = Assert.Single(Dumps());
        // The table of contents (read by the check before the restore) stays whole; the data breaks off.
        await using (var file = File.OpenWrite(dump))
        {
            file.SetLength(file.Length * 3 / 4);
        }

        await Database.ExecuteAsync("INSERT INTO \"user\" (user_name) VALUES ('written-after-the-backup')");
        var counts = await RowCountsAsync();

        await using var restore = Start(Image, "restore");

        await OutputAssert.ExitsWith(1, restore, DbInit.HardTimeout);
        OutputAssert.Contains(restore, "nothing was changed: the restore was rolled back");
        Assert.Equal(counts, await RowCountsAsync());
        Assert.Equal(["written-after-the-backup"], await Database.QueryColumnAsync("SELECT user_name FROM \"user\" WHERE user_name LIKE 'written%'"));
    }

    [Fact]
    public async Task Restore_KilledWhileItRuns_LeavesTheDatabaseAsItWas()
    {
        await InstallAsync(Image);
        await WriteContentAsync();
        // A table each of whose rows takes half a second to come back: its CHECK sleeps during a COPY,
        // which only the restore runs. However loaded this machine is, the restore is still at work
        // seconds after the test has seen it empty the schema.
        await Database.ExecuteAsync("""
            CREATE FUNCTION restored_slowly() RETURNS boolean LANGUAGE sql
                AS $$ SELECT true FROM pg_sleep(CASE WHEN current_query() LIKE 'COPY %' THEN 0.5 ELSE 0 END) $$;
            CREATE TABLE slow_to_restore (n integer CHECK (restored_slowly()));
            INSERT INTO slow_to_restore SELECT generate_series(1, 6);
            """);
        await RunAsync(Image, "backup");
        await Database.ExecuteAsync("INSERT INTO \"user\" (user_name) VALUES ('written-after-the-backup')");
        var counts = await RowCountsAsync();

        // As the Job's deadline does: every process of the container killed at once, once the
        // restore's transaction has emptied the schema (it holds the dropped tables' locks) and
        // before it can have committed: three seconds of rows are still to come.
        await using var restore = Start(Image, "restore");
        await restore.WaitForOutputAsync("restoring ", DbInit.OutputTimeout);
        await WaitForTheRestoreToHoldTheDroppedTablesAsync();
        restore.KillAll();

        Assert.Equal(counts, await RowCountsAsync());
        Assert.Equal(["written-after-the-backup"], await Database.QueryColumnAsync("SELECT user_name FROM \"user\" WHERE user_name LIKE 'written%'"));
    }

    [Fact]
    public async Task Restore_WhileTheAppStaysConnected_RefusesAfterItsWaitAndChangesNothing()
    {
        await InstallAsync(Image);
        await WriteContentAsync();
        await RunAsync(Image, "backup");
        await Database.ExecuteAsync("DELETE FROM post_reply");
        await using var web = await Database.ConnectAsync("gunicorn piefed-web");

        await using var restore = Start(Image, "restore", sessionsWaitSeconds: 2);

        await OutputAssert.ExitsWith(1, restore, DbInit.HardTimeout);
        OutputAssert.Contains(restore, "db-init: FAILED: 1 other session(s) are still connected to the database after 2 s: gunicorn piefed-web (pid");
        OutputAssert.Contains(restore, "piefed:maintenance.enabled: true");
        Assert.Equal(0L, await Database.QueryAsync<long>("SELECT count(*) FROM post_reply"));
    }

    [Fact]
    public async Task Restore_WaitsForTheLastSessionsOfTheStoppedAppToEnd_ThenRestores()
    {
        await InstallAsync(Image);
        await WriteContentAsync();
        await RunAsync(Image, "backup");
        await Database.ExecuteAsync("DELETE FROM post_reply");
        // A web pod that maintenance mode stopped, still in its grace period.
        var web = await Database.ConnectAsync("gunicorn piefed-web");

        await using var restore = Start(Image, "restore", sessionsWaitSeconds: 120);
        await restore.WaitForOutputAsync("waiting up to 120 s for 1 other session(s) to end: gunicorn piefed-web (pid", DbInit.OutputTimeout);
        Assert.Equal(0L, await Database.QueryAsync<long>("SELECT count(*) FROM post_reply"));
        await web.DisposeAsync();

        await OutputAssert.ExitsWith(0, restore, DbInit.HardTimeout);
        Assert.Equal(2L, await Database.QueryAsync<long>("SELECT count(*) FROM post_reply"));
    }

    private async Task WaitForTheRestoreToHoldTheDroppedTablesAsync()
    {
        const string transactionHoldsDroppedTables = """
            SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND l.mode = 'AccessExclusiveLock' AND l.granted
            """;
        var deadline = DateTime.UtcNow + DbInit.OutputTimeout;
        while (await Database.QueryAsync<long>(transactionHoldsDroppedTables) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The restore never emptied the schema.");
            await Task.Delay(5);
        }
    }
}
