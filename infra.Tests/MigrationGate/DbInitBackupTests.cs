using System.Diagnostics;
using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The pending-migration check, the dump before a schema change, the scheduled backup, the image
/// older than its database and the restore, run as db_init.py exactly as shipped, with the real
/// pg_dump and pg_restore, in stand-in images one revision apart (<see cref="StandInImage"/>).
/// </summary>
[Collection(MigrationGateProcesses.Name)]
[SupportedOSPlatform("linux")]
public sealed class DbInitBackupTests : StandInInstanceTest
{
    private const string Initial = StandInImage.InitialRevision;
    private const string Head = StandInImage.HeadRevision;

    /// <summary>The tables whose content the restore must bring back exactly; every table's row count is compared too.</summary>
    private static readonly string[] ContentTables = ["\"user\"", "community", "post", "post_reply"];

    private readonly StandInImage _olderImage = StandInImage.Create();
    private readonly string _backups = Directory.CreateTempSubdirectory("piefed-backups-").FullName;

    public override async Task InitializeAsync()
    {
        _olderImage.RemoveRevision(Head);
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _olderImage.Dispose();
        Directory.Delete(_backups, recursive: true);
    }

    [Fact]
    public async Task FirstInstall_HasNothingToBackUp()
    {
        var output = await RunAsync(Image);

        Assert.Contains("no backup before migrating: the database has no schema yet", output, StringComparison.Ordinal);
        Assert.Empty(Dumps());
    }

    [Fact]
    public async Task ReleaseWithNothingToMigrate_NeitherDumpsNorRunsTheMigration()
    {
        await RunAsync(Image);

        var output = await RunAsync(Image);

        Assert.Contains($"the database is at the image's head {Head}: nothing to migrate", output, StringComparison.Ordinal);
        Assert.DoesNotContain("flask db upgrade", output, StringComparison.Ordinal);
        Assert.Empty(Dumps());
    }

    [Fact]
    public async Task PendingMigration_IsPrecededByAVerifiedDumpNamedWithBothRevisions()
    {
        await RunAsync(_olderImage);
        await WriteContentAsync();

        await using var dbInit = Start(Image);

        await OutputAssert.ExitsWith(0, dbInit, DbInit.HardTimeout);
        var dump = Assert.Single(Dumps());
        Assert.Matches($"^piefed-[0-9]{{8}}T[0-9]{{6}}Z-at-{Initial}-before-{Head}\\.dump$", Path.GetFileName(dump));
        OutputAssert.InOrder(
            dbInit,
            $"a migration is pending: {Initial} -> {Head}",
            $"backing up PostgreSQL piefed_test@127.0.0.1:5432/{Database.Name} at revision {Initial} to {dump}",
            $"backup verified: {dump}",
            "running the migration: flask db upgrade",
            $"STANDIN-MIGRATE: applied {Head}");
        Assert.True(new FileInfo(dump).Length > 0);
        // The dump holds the data as it was before the migration: the post has no score column yet.
        Assert.Contains("TABLE DATA public post", await PgRestoreListAsync(dump), StringComparison.Ordinal);
        Assert.Equal([Head], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task DumpThatCannotBeTaken_FailsTheRunBeforeAnythingIsMigrated()
    {
        // The migration's role may run it, but pg_dump cannot read a table it does not own or have SELECT on.
        await RunAsync(_olderImage);
        var role = "piefed_gate_migrator_" + Database.Name[^12..];
        await Database.CreateRoleAsync(role, "migrator-password");
        await Database.ExecuteAsync($"GRANT SELECT ON alembic_version, site, \"user\" TO \"{role}\"");

        await using var dbInit = DbInit.Start(Database, Redis, Image, databaseUrl: Database.SqlAlchemyUrl(username: role, password: "migrator-password"), backupDirectory: _backups);

        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "permission denied for table");
        OutputAssert.Contains(dbInit, "db-init: FAILED: the backup (pg_dump) exited with code 1: the database user may not read every object");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
        Assert.Empty(Directory.GetFiles(_backups));
        Assert.Equal([Initial], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task DumpOverItsOwnBudget_IsStoppedAndNothingIsMigrated()
    {
        await RunAsync(_olderImage);
        // pg_dump waits for every table's lock: a session that holds one exclusively holds the dump up.
        await using var holder = await Database.ConnectAsync("a-long-maintenance");
        await using (var lockTable = new Npgsql.NpgsqlCommand("BEGIN; LOCK TABLE post IN ACCESS EXCLUSIVE MODE", holder))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        await using var dbInit = DbInit.Start(Database, Redis, Image, backupDirectory: _backups, environment: new() { ["DB_INIT_BACKUP_TIMEOUT_SECONDS"] = "2" });

        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "db-init: FAILED: the backup (pg_dump) was too slow: it did not finish within 2 s (DB_INIT_BACKUP_TIMEOUT_SECONDS, piefed:backup.timeoutMinutes)");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
        Assert.Empty(Dumps());
        await using (var release = new Npgsql.NpgsqlCommand("ROLLBACK", holder))
        {
            await release.ExecuteNonQueryAsync();
        }

        Assert.Equal([Initial], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task FullBackupVolume_IsMadeRoomOnScheduledDumpsFirstKeepingWhatThePreviousReleasesCanRestore()
    {
        await RunAsync(_olderImage);
        await using var volume = await SmallVolume.MountAsync(megabytes: 2);
        // Oldest first: two releases' dumps before migrating, and scheduled dumps, the newest the largest.
        volume.Write($"piefed-20250101T000000Z-at-aaaaaaaaaaaa-before-{Initial}.dump", 100);
        volume.Write($"piefed-20250102T000000Z-at-{Initial}.dump", 400);
        volume.Write("piefed-20250103T000000Z-at-bbbbbbbbbbbb-before-cccccccccccc.dump", 100);
        volume.Write($"piefed-20250104T000000Z-at-{Initial}.dump", 400);
        volume.Write($"piefed-20250105T000000Z-at-cccccccccccc-before-{Initial}.dump", 100);
        // The next dump may need 1.25 × the newest's 600 KiB: both older scheduled dumps must go, and no more.
        volume.Write($"piefed-20250106T000000Z-at-{Initial}.dump", 600);
        volume.Fill(leaveKilobytes: 100);

        await using var dbInit = DbInit.Start(Database, Redis, Image, backupDirectory: volume.Path, environment: new() { ["DB_INIT_BACKUP_KEEP"] = "20" });

        await OutputAssert.ExitsWith(0, dbInit, DbInit.HardTimeout);
        OutputAssert.InOrder(
            dbInit,
            $"removed the old backup piefed-20250102T000000Z-at-{Initial}.dump (making room",
            $"removed the old backup piefed-20250104T000000Z-at-{Initial}.dump (making room",
            "backup verified",
            "running the migration");
        var left = volume.Dumps();
        Assert.Contains($"piefed-20250101T000000Z-at-aaaaaaaaaaaa-before-{Initial}.dump", left);
        Assert.Contains($"piefed-20250105T000000Z-at-cccccccccccc-before-{Initial}.dump", left);
        Assert.Contains("piefed-20250103T000000Z-at-bbbbbbbbbbbb-before-cccccccccccc.dump", left);
        Assert.Contains($"piefed-20250106T000000Z-at-{Initial}.dump", left);
        Assert.Single(left, n => n.EndsWith($"-before-{Head}.dump", StringComparison.Ordinal));
        Assert.Equal([Head], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task FullBackupVolume_WithNothingThatMayGo_FailsBeforeMigratingWithTheCommandThatMakesRoom()
    {
        await RunAsync(_olderImage);
        await using var volume = await SmallVolume.MountAsync(megabytes: 2);
        volume.Write($"piefed-20250103T000000Z-at-bbbbbbbbbbbb-before-cccccccccccc.dump", 100);
        volume.Write($"piefed-20250105T000000Z-at-cccccccccccc-before-{Initial}.dump", 800);
        volume.Fill(leaveKilobytes: 300);

        await using var dbInit = DbInit.Start(Database, Redis, Image, backupDirectory: volume.Path);

        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "Nothing was migrated");
        OutputAssert.Contains(dbInit, "`pulumi config set --path 'piefed:backup.size' 1Gi` and `pulumi up`");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
        Assert.Equal(2, volume.Dumps().Count);
        Assert.Equal([Initial], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task EveryDump_KeepsOnlyTheNewestAndClearsUnfinishedOnes()
    {
        await RunAsync(Image);
        foreach (var stamp in new[] { "20250101T000000Z", "20250102T000000Z", "20250103T000000Z" })
        {
            await File.WriteAllTextAsync(Path.Combine(_backups, $"piefed-{stamp}-at-{Initial}.dump"), "an older dump");
        }

        await File.WriteAllTextAsync(Path.Combine(_backups, "piefed-20250104T000000Z-at-1.dump.partial"), "a run killed while dumping");
        await File.WriteAllTextAsync(Path.Combine(_backups, "notes.txt"), "not ours");

        var output = await RunAsync(Image, "backup", keep: 2);

        var names = Directory.GetFiles(_backups).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, names.Count);
        Assert.Contains("notes.txt", names);
        Assert.Contains($"piefed-20250103T000000Z-at-{Initial}.dump", names);
        Assert.Single(names, n => n!.EndsWith($"-at-{Head}.dump", StringComparison.Ordinal) && !n.StartsWith("piefed-2025", StringComparison.Ordinal));
        Assert.Contains($"removed the old backup piefed-20250101T000000Z-at-{Initial}.dump (keeping the newest 2, DB_INIT_BACKUP_KEEP)", output, StringComparison.Ordinal);
        Assert.Contains("removed the unfinished backup piefed-20250104T000000Z-at-1.dump.partial", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduledBackup_NeedsNoRedisAndDumpsAtTheCurrentRevision()
    {
        await RunAsync(Image);

        await using var backup = DbInit.Start(Database, Redis, Image, "backup", backupDirectory: _backups, environment: new() { ["CACHE_REDIS_URL"] = null });

        await OutputAssert.ExitsWith(0, backup, DbInit.HardTimeout);
        Assert.EndsWith($"-at-{Head}.dump", Assert.Single(Dumps()), StringComparison.Ordinal);
        OutputAssert.DoesNotContain(backup, "Redis");
    }

    [Fact]
    public async Task ImageOlderThanTheDatabase_FailsAtOnceNamingBothRevisionsAndTheNewestBackupItCanRestore()
    {
        await RunAsync(_olderImage);
        await RunAsync(Image);
        await RunAsync(Image, "backup");
        // An instance whose data went, which must not be seeded by an image that cannot run it.
        await Database.ExecuteAsync("DELETE FROM site");

        await using var dbInit = Start(_olderImage);

        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        var restorable = Path.GetFileName(Assert.Single(Dumps(), d => d.Contains($"-at-{Initial}-before-", StringComparison.Ordinal)));
        OutputAssert.Contains(
            dbInit,
            $"db-init: FAILED: the database is at revision {Head}, and this image's migrations do not know {Head} (their head is {Initial}):"
            + " the image is older than the database");
        OutputAssert.Contains(dbInit, $"the newest backup this image can restore is {restorable}");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
        Assert.Equal([Head], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task Restore_AfterADestructiveChange_BringsBackEveryRowAndRemovesWhatCameLater()
    {
        // docs/operations.md, "Restoring a backup": the restore Job runs `db_init.py restore`.
        await RunAsync(Image);
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
        await RunAsync(_olderImage);
        await WriteContentAsync();
        await RunAsync(Image);
        await RunAsync(Image, "backup");
        await Database.ExecuteAsync("INSERT INTO \"user\" (user_name) VALUES ('written-after-the-upgrade')");

        var output = await RunAsync(_olderImage, "restore");

        Assert.Contains($"-at-{Initial}-before-{Head}.dump (taken at revision {Initial})", output, StringComparison.Ordinal);
        Assert.Equal([Initial], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
        Assert.Equal(["alice", "bob"], await Database.QueryColumnAsync("SELECT user_name FROM \"user\" WHERE id > 1 ORDER BY id"));
        // The older image runs again on its own schema: nothing pending, nothing seeded.
        var release = await RunAsync(_olderImage);
        Assert.Contains($"the database is at the image's head {Initial}: nothing to migrate", release, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_OfADumpThatBreaksOffMidway_LeavesTheDatabaseAsItWas()
    {
        await RunAsync(Image);
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
        await RunAsync(Image);
        await WriteContentAsync();
        await Database.ExecuteAsync("INSERT INTO community (name) SELECT 'community ' || n FROM generate_series(1, 200000) n");
        await RunAsync(Image, "backup");
        await Database.ExecuteAsync("INSERT INTO \"user\" (user_name) VALUES ('written-after-the-backup')");
        var counts = await RowCountsAsync();

        // As the Job's deadline does: every process of the container killed at once, once the
        // restore's transaction has emptied the schema (it holds the dropped tables' locks) and
        // before it can have committed: the 200,000 rows are still to come.
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
        await RunAsync(Image);
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
        await RunAsync(Image);
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

    private ScriptProcess Start(StandInImage image, string? mode = null, int? keep = null, int? sessionsWaitSeconds = null)
    {
        var environment = new Dictionary<string, string?>();
        if (keep is not null)
        {
            environment["DB_INIT_BACKUP_KEEP"] = keep.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (sessionsWaitSeconds is not null)
        {
            environment["DB_RESTORE_SESSIONS_WAIT_SECONDS"] = sessionsWaitSeconds.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return DbInit.Start(Database, Redis, image, mode, backupDirectory: _backups, environment: environment);
    }

    private async Task<string> RunAsync(StandInImage image, string? mode = null, int? keep = null)
    {
        await using var run = Start(image, mode, keep);
        await OutputAssert.ExitsWith(0, run, DbInit.HardTimeout);
        return run.Output;
    }

    private string[] Dumps() => Directory.GetFiles(_backups, "piefed-*.dump");

    private Task WriteContentAsync() => Database.ExecuteAsync("""
        INSERT INTO "user" (user_name) VALUES ('alice'), ('bob');
        INSERT INTO community (name) VALUES ('piefed_meta'), ('cats');
        INSERT INTO post (community_id, user_id, title) VALUES (1, 1, 'Hello'), (2, 2, 'A cat');
        INSERT INTO post_reply (post_id, user_id, body) VALUES (1, 2, 'Welcome'), (2, 1, 'Nice cat');
        """);

    private async Task<List<string>> RowCountsAsync()
    {
        var counts = new List<string>();
        foreach (var table in await Database.QueryColumnAsync("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))
        {
            counts.Add($"{table}: {await Database.QueryAsync<long>($"SELECT count(*) FROM {table}")}");
        }

        return counts;
    }

    private async Task<List<string>> ContentsAsync()
    {
        var contents = new List<string>();
        foreach (var table in ContentTables)
        {
            contents.AddRange(await Database.QueryColumnAsync($"SELECT t::text FROM {table} t ORDER BY id"));
        }

        return contents;
    }

    private static async Task<string> PgRestoreListAsync(string dump)
    {
        using var process = Process.Start(new ProcessStartInfo("pg_restore", ["--list", dump]) { RedirectStandardOutput = true })!;
        var listing = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        return listing;
    }
}
