using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using PieFed.Infra.Components;
using PieFed.Infra.Scripts;
using PieFed.Infra.Tests.MigrationGate;
using PieFed.Infra.Tests.Support;

namespace PieFed.Infra.Benchmarks.MigrationGate;

/// <summary>
/// The migration Job's wall time, db_init.py exactly as shipped run as a process in the tests' stand-in
/// image (real Flask, Flask-Migrate and Alembic) against the real loopback PostgreSQL and Redis: a
/// release with nothing to migrate, which reads the image's heads and skips `flask db upgrade`, and a
/// first install (migrate and seed). The stand-in boots in a fraction of PieFed's time, so the gap
/// between the two is the part this measures; PieFed's own figures are in the closing note of #9.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 15)]
[InvocationCount(1)]
[MedianColumn]
[MaxColumn]
[SupportedOSPlatform("linux")]
public class DbInitBenchmarks
{
    private static readonly TimeSpan HardTimeout = TimeSpan.FromSeconds(120);

    private StandInImage? _image;
    private TestRedis? _redis;
    private TestDatabase? _migrated;
    private TestDatabase? _empty;
    private IReadOnlyDictionary<string, string>? _programEnvironment;

    [GlobalSetup]
    public void Prepare()
    {
        _image = StandInImage.Create();
        _redis = TestRedis.ConnectAsync().GetAwaiter().GetResult();
        _programEnvironment = AppConfiguration.Environment(StackConfig.Dev.Settings());
        _migrated = TestDatabase.CreateAsync().GetAwaiter().GetResult();
        Run(_migrated);
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _migrated?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _image?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int ReleaseWithNothingToMigrate() => Run(_migrated!);

    [IterationSetup(Target = nameof(FirstInstall))]
    public void CreateEmptyDatabase() => _empty = TestDatabase.CreateAsync().GetAwaiter().GetResult();

    [IterationCleanup(Target = nameof(FirstInstall))]
    public void DropDatabase() => _empty?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public int FirstInstall() => Run(_empty!);

    private int Run(TestDatabase database)
    {
        var environment = new Dictionary<string, string>(_programEnvironment!)
        {
            ["PATH"] = _image!.SearchPath,
            ["SECRET_KEY"] = "a-benchmark-secret-key-long-enough-to-sign",
            ["DATABASE_URL"] = database.SqlAlchemyUrl(),
            ["CACHE_REDIS_URL"] = _redis!.Url(),
            ["CELERY_BROKER_URL"] = _redis.Url(),
        };
        var dbInit = ScriptProcess.Start(MigrationScripts.DbInit, MigrationScripts.DbInitFileName, environment, _image.AppDirectory);
        try
        {
            var exitCode = dbInit.WaitForExitAsync(HardTimeout).GetAwaiter().GetResult();
            return exitCode == 0 ? exitCode : throw new InvalidOperationException($"db_init.py exited with {exitCode}:\n{dbInit.Output}");
        }
        finally
        {
            dbInit.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
