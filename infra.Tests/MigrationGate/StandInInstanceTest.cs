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

        Image.Dispose();
    }
}
