using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>What each of the gate's process tests starts from: a stand-in image of its own, a fresh database on the real PostgreSQL, and the real Redis.</summary>
[SupportedOSPlatform("linux")]
public abstract class StandInInstanceTest : IAsyncLifetime
{
    private TestDatabase? _database;
    private TestRedis? _redis;

    protected StandInImage Image { get; } = StandInImage.Create();

    protected TestDatabase Database => _database ?? throw new InvalidOperationException("InitializeAsync has not run.");

    protected TestRedis Redis => _redis ?? throw new InvalidOperationException("InitializeAsync has not run.");

    public virtual async Task InitializeAsync()
    {
        _redis = await TestRedis.ConnectAsync();
        _database = await TestDatabase.CreateAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        Image.Dispose();
    }

    /// <summary>Starts this test from an instance that <paramref name="image"/> installed (<see cref="InstalledDatabases"/>).</summary>
    protected Task InstallAsync(StandInImage image) => InstalledDatabases.CopyInstalledAsync(Database, Redis, image);

    /// <summary>Starts this test from a database that <paramref name="image"/>'s `flask db upgrade` migrated and nothing seeded (<see cref="InstalledDatabases"/>).</summary>
    protected Task MigrateAsync(StandInImage image) => InstalledDatabases.CopyMigratedAsync(Database, Redis, image);

    /// <summary>db_init.py in this test's image, against its database and Redis unless told otherwise.</summary>
    protected ScriptProcess StartDbInit(
        string? databaseUrl = null,
        string? redisUrl = null,
        double dependencyTimeoutSeconds = 30,
        double retryIntervalSeconds = 0.2,
        Dictionary<string, string?>? environment = null,
        string? mode = null)
        => DbInit.Start(Database, Redis, Image, mode, databaseUrl, redisUrl, null, dependencyTimeoutSeconds, retryIntervalSeconds, environment: environment);
}
