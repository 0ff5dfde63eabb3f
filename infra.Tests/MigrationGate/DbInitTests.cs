using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// db_init.py exactly as shipped, run as a process in a <see cref="StandInImage"/> (PieFed's layout
/// under real Flask, Flask-Migrate and Alembic) against the real loopback PostgreSQL and Redis, each
/// test in a fresh database. The stand-in's init-db is as destructive as upstream's: a wrong seed
/// decision deletes rows, and the test sees it.
/// </summary>
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
        await MigrateAsync(Image);

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
        await MigrateAsync(Image);
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
        await MigrateAsync(Image);
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
        await MigrateAsync(Image);
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
}
