using System.Collections.Concurrent;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The database of an instance that db_init.py installed, for the tests that start from one. The
/// first such test of a run installs it for real (db_init.py, `flask db upgrade`, `flask init-db`:
/// three Python processes, about 1.7 CPU-seconds) into a database of its own; every test asking for
/// an instance of the same image then gets a copy (CREATE DATABASE … TEMPLATE, milliseconds). The
/// copy is the installed database byte for byte, site key and administrator included, and each test
/// still writes to its own. The tests of the install itself still run it.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class InstalledDatabases
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<TestDatabase>>> ByImage = new(StringComparer.Ordinal);

    static InstalledDatabases() => AppDomain.CurrentDomain.ProcessExit += (_, _) => DropAll();

    /// <summary>Replaces <paramref name="database"/> with a copy of the instance <paramref name="image"/> installs.</summary>
    public static async Task CopyInstalledAsync(TestDatabase database, TestRedis redis, StandInImage image)
    {
        var installed = await ByImage.GetOrAdd(Fingerprint(image), _ => new Lazy<Task<TestDatabase>>(() => InstallAsync(redis, image))).Value;
        await database.RecreateFromTemplateAsync(installed);
    }

    private static async Task<TestDatabase> InstallAsync(TestRedis redis, StandInImage image)
    {
        var installed = await TestDatabase.CreateAsync();
        await DbInit.RunAsync(installed, redis, image);
        return installed;
    }

    /// <summary>What the install depends on in the image: every file of its /app, by path and content.</summary>
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

    private static void DropAll()
    {
        foreach (var installed in ByImage.Values.Where(lazy => lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully))
        {
            installed.Value.Result.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
