using System.Diagnostics;
using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// db_init.py exactly as shipped, with the real pg_dump and pg_restore and a backup volume of the
/// test's own, in stand-in images one revision apart (<see cref="StandInImage"/>): what the tests of
/// dumps (<see cref="DbInitBackupTests"/>) and of restores (<see cref="DbInitRestoreTests"/>) share.
/// </summary>
[SupportedOSPlatform("linux")]
public abstract class BackupVolumeTest : StandInInstanceTest
{
    protected const string Initial = StandInImage.InitialRevision;
    protected const string Head = StandInImage.HeadRevision;

    /// <summary>The tables whose content the restore must bring back exactly; every table's row count is compared too.</summary>
    protected static readonly string[] ContentTables = ["\"user\"", "community", "post", "post_reply"];

    /// <summary>The image of the release before: it lacks the head revision.</summary>
    protected StandInImage OlderImage { get; } = StandInImage.Create();

    protected string BackupDirectory { get; } = Directory.CreateTempSubdirectory("piefed-backups-").FullName;

    public override async Task InitializeAsync()
    {
        OlderImage.RemoveRevision(Head);
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        OlderImage.Dispose();
        Directory.Delete(BackupDirectory, recursive: true);
    }

    protected ScriptProcess Start(StandInImage image, string? mode = null, int? keep = null, int? sessionsWaitSeconds = null)
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

        return DbInit.Start(Database, Redis, image, mode, backupDirectory: BackupDirectory, environment: environment);
    }

    protected async Task<string> RunAsync(StandInImage image, string? mode = null, int? keep = null)
    {
        await using var run = Start(image, mode, keep);
        await OutputAssert.ExitsWith(0, run, DbInit.HardTimeout);
        return run.Output;
    }

    protected string[] Dumps() => Directory.GetFiles(BackupDirectory, "piefed-*.dump");

    protected Task WriteContentAsync() => Database.ExecuteAsync("""
        INSERT INTO "user" (user_name) VALUES ('alice'), ('bob');
        INSERT INTO community (name) VALUES ('piefed_meta'), ('cats');
        INSERT INTO post (community_id, user_id, title) VALUES (1, 1, 'Hello'), (2, 2, 'A cat');
        INSERT INTO post_reply (post_id, user_id, body) VALUES (1, 2, 'Welcome'), (2, 1, 'Nice cat');
        """);

    protected async Task<List<string>> RowCountsAsync()
    {
        var counts = new List<string>();
        foreach (var table in await Database.QueryColumnAsync("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))
        {
            counts.Add($"{table}: {await Database.QueryAsync<long>($"SELECT count(*) FROM {table}")}");
        }

        return counts;
    }

    protected async Task<List<string>> ContentsAsync()
    {
        var contents = new List<string>();
        foreach (var table in ContentTables)
        {
            contents.AddRange(await Database.QueryColumnAsync($"SELECT t::text FROM {table} t ORDER BY id"));
        }

        return contents;
    }

    protected static async Task<string> PgRestoreListAsync(string dump)
    {
        using var process = Process.Start(new ProcessStartInfo("pg_restore", ["--list", dump]) { RedirectStandardOutput = true })!;
        var listing = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        return listing;
    }
}
