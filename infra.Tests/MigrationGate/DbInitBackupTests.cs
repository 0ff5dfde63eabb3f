using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The pending-migration check, the dump before a schema change, the scheduled backup and the image
/// older than its database, run as db_init.py exactly as shipped.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DbInitBackupTests : BackupVolumeTest
{
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
        await InstallAsync(Image);

        var output = await RunAsync(Image);

        Assert.Contains($"the database is at the image's head {Head}: nothing to migrate", output, StringComparison.Ordinal);
        Assert.DoesNotContain("flask db upgrade", output, StringComparison.Ordinal);
        Assert.Empty(Dumps());
    }

    [Fact]
    public async Task PendingMigration_IsPrecededByAVerifiedDumpNamedWithBothRevisions()
    {
        await InstallAsync(OlderImage);
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
        await InstallAsync(OlderImage);
        var role = "piefed_gate_migrator_" + Database.Name[^12..];
        await Database.CreateRoleAsync(role, "migrator-password");
        await Database.ExecuteAsync($"GRANT SELECT ON alembic_version, site, \"user\" TO \"{role}\"");

        await using var dbInit = DbInit.Start(Database, Redis, Image, databaseUrl: Database.SqlAlchemyUrl(username: role, password: "migrator-password"), backupDirectory: BackupDirectory);

        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "permission denied for table");
        OutputAssert.Contains(dbInit, "db-init: FAILED: the backup (pg_dump) exited with code 1: the database user may not read every object");
        OutputAssert.DoesNotContain(dbInit, "running the migration");
        Assert.Empty(Directory.GetFiles(BackupDirectory));
        Assert.Equal([Initial], await Database.QueryColumnAsync("SELECT version_num FROM alembic_version"));
    }

    [Fact]
    public async Task DumpOverItsOwnBudget_IsStoppedAndNothingIsMigrated()
    {
        await InstallAsync(OlderImage);
        // pg_dump waits for every table's lock: a session that holds one exclusively holds the dump up.
        await using var holder = await Database.ConnectAsync("a-long-maintenance");
        await using (var lockTable = new Npgsql.NpgsqlCommand("BEGIN; LOCK TABLE post IN ACCESS EXCLUSIVE MODE", holder))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        await using var dbInit = DbInit.Start(Database, Redis, Image, backupDirectory: BackupDirectory, environment: new() { ["DB_INIT_BACKUP_TIMEOUT_SECONDS"] = "2" });

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
        await InstallAsync(OlderImage);
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
        await InstallAsync(OlderImage);
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
        await InstallAsync(Image);
        foreach (var stamp in new[] { "20250101T000000Z", "20250102T000000Z", "20250103T000000Z" })
        {
            await File.WriteAllTextAsync(Path.Combine(BackupDirectory, $"piefed-{stamp}-at-{Initial}.dump"), "an older dump");
        }

        await File.WriteAllTextAsync(Path.Combine(BackupDirectory, "piefed-20250104T000000Z-at-1.dump.partial"), "a run killed while dumping");
        await File.WriteAllTextAsync(Path.Combine(BackupDirectory, "notes.txt"), "not ours");

        var output = await RunAsync(Image, "backup", keep: 2);

        var names = Directory.GetFiles(BackupDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
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
        await InstallAsync(Image);

        await using var backup = DbInit.Start(Database, Redis, Image, "backup", backupDirectory: BackupDirectory, environment: new() { ["CACHE_REDIS_URL"] = null });

        await OutputAssert.ExitsWith(0, backup, DbInit.HardTimeout);
        Assert.EndsWith($"-at-{Head}.dump", Assert.Single(Dumps()), StringComparison.Ordinal);
        OutputAssert.DoesNotContain(backup, "Redis");
    }

    [Fact]
    public async Task ImageOlderThanTheDatabase_FailsAtOnceNamingBothRevisionsAndTheNewestBackupItCanRestore()
    {
        await InstallAsync(OlderImage);
        await RunAsync(Image);
        await RunAsync(Image, "backup");
        // An instance whose data went, which must not be seeded by an image that cannot run it.
        await Database.ExecuteAsync("DELETE FROM site");

        await using var dbInit = Start(OlderImage);

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
}
