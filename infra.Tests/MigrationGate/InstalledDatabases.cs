using System.Collections.Concurrent;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The database of an instance that db_init.py installed, or that `flask db upgrade` migrated and
/// nothing seeded, for the tests that start from one. The first such test of a run makes it for real
/// (an install is three Python processes, db_init.py, `flask db upgrade` and `flask init-db`, about
/// 1.7 CPU-seconds) in a database of its own; every test asking for the same state of the same image
/// then gets a copy (CREATE DATABASE … TEMPLATE, tens of milliseconds). The copy is that database byte for
/// byte, site key and administrator included, and each test still writes to its own. The tests of the
/// install and of the migration themselves still run them.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class InstalledDatabases
{
    /// <summary>Names the test process, so that a later run can tell the templates of a run that has ended.</summary>
    private static readonly string NamePrefix = $"piefed_template_{Environment.ProcessId}_";

    private static readonly ConcurrentDictionary<string, Lazy<Task<TestDatabase>>> ByStateAndImage = new(StringComparer.Ordinal);

    /// <summary>
    /// The templates of test processes that have ended. Dropping them when the process exits is not enough:
    /// the test platform may end the process before that has finished.
    /// </summary>
    private static readonly Lazy<Task> LeftOversDropped = new(() => TestDatabase.DropLeftOversAsync("piefed_template_", IsOfAnEndedProcess));

    static InstalledDatabases() => AppDomain.CurrentDomain.ProcessExit += (_, _) => DropThisProcessTemplates();

    /// <summary>Replaces <paramref name="database"/> with a copy of the instance <paramref name="image"/> installs.</summary>
    public static Task CopyInstalledAsync(TestDatabase database, TestRedis redis, StandInImage image)
        => CopyAsync(database, image, "installed", installed => DbInit.RunAsync(installed, redis, image));

    /// <summary>Replaces <paramref name="database"/> with a copy of one that <paramref name="image"/>'s `flask db upgrade` migrated.</summary>
    public static Task CopyMigratedAsync(TestDatabase database, TestRedis redis, StandInImage image)
        => CopyAsync(database, image, "migrated", migrated => DbInit.FlaskAsync(migrated, redis, image, "db", "upgrade"));

    private static async Task CopyAsync(TestDatabase database, StandInImage image, string state, Func<TestDatabase, Task> makeState)
    {
        var template = await ByStateAndImage.GetOrAdd($"{state} by {Fingerprint(image)}", _ => new Lazy<Task<TestDatabase>>(async () =>
        {
            await LeftOversDropped.Value;
            var made = await TestDatabase.CreateAsync(namePrefix: NamePrefix);
            await makeState(made);
            return made;
        })).Value;
        await database.RecreateFromTemplateAsync(template);
    }

    /// <summary>What the install and the migration depend on in the image: every file of its /app, by path and content.</summary>
    private static string Fingerprint(StandInImage image)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.GetFiles(image.AppDirectory, "*", SearchOption.AllDirectories)
                     .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}__pycache__{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(image.AppDirectory, file) + "\0"));
            hash.AppendData(File.ReadAllBytes(file));
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static bool IsOfAnEndedProcess(string templateName)
        => templateName.Split('_') is [_, _, var processId, _] && int.TryParse(processId, System.Globalization.CultureInfo.InvariantCulture, out var id)
            && !Directory.Exists($"/proc/{id}");

    private static void DropThisProcessTemplates()
    {
        foreach (var installed in ByStateAndImage.Values.Where(lazy => lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully))
        {
            installed.Value.Result.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
