using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using PieFed.Infra.Scripts;
using PieFed.Infra.Tests.MigrationGate;

namespace PieFed.Infra.Benchmarks.MigrationGate;

/// <summary>
/// How fast wait_for_migrations.py, the exact shipped text run as a process against the tests' stand-in
/// Kubernetes API over HTTPS, lets a pod go. Each iteration is one process, so the engine is told to
/// measure single invocations (Monitoring, InvocationCount 1) and report Median and Max.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 25)]
[InvocationCount(1)]
[MedianColumn]
[MaxColumn]
public class WaitForMigrationsBenchmarks
{
    private static readonly TimeSpan HardTimeout = TimeSpan.FromSeconds(30);

    private StandInKubernetesApi? _api;
    private ScriptProcess? _waiter;

    private StandInKubernetesApi Api => _api ?? throw new InvalidOperationException("GlobalSetup has not run.");

    [GlobalSetup]
    public void StartStandInApi() => _api = StandInKubernetesApi.StartAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void StopStandInApi() => _api?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Starts the waiter on a running Job and returns once its watch is open.</summary>
    [IterationSetup(Target = nameof(ReleaseAfterJobCompletes))]
    public void StartWaiterOnRunningJob()
    {
        Api.SetJob(Api.RunningJob());
        var watch = Api.NextWatchAsync();
        _waiter = StartWaiter();
        watch.WaitAsync(HardTimeout).GetAwaiter().GetResult();
    }

    [IterationCleanup(Target = nameof(ReleaseAfterJobCompletes))]
    public void StopWaiter() => _waiter?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>From the instant the Job turns Complete until the waiter process has exited.</summary>
    [Benchmark]
    public int ReleaseAfterJobCompletes()
    {
        Api.SetJob(Api.CompleteJob());
        return ExpectReleased(_waiter!);
    }

    [IterationSetup(Target = nameof(CompleteAtStart))]
    public void CompleteTheJob() => Api.SetJob(Api.CompleteJob());

    /// <summary>The whole run of a waiter whose Job is already Complete: interpreter start to exit.</summary>
    [Benchmark]
    public int CompleteAtStart()
    {
        var waiter = StartWaiter();
        try
        {
            return ExpectReleased(waiter);
        }
        finally
        {
            waiter.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static int ExpectReleased(ScriptProcess waiter)
    {
        var exitCode = waiter.WaitForExitAsync(HardTimeout).GetAwaiter().GetResult();
        return exitCode == 0 ? exitCode : throw new InvalidOperationException($"The waiter exited with {exitCode}:\n{waiter.Output}");
    }

    private ScriptProcess StartWaiter()
    {
        var environment = Api.WaiterEnvironment();
        environment["WAIT_TIMEOUT_SECONDS"] = "300";
        return ScriptProcess.Start(MigrationScripts.WaitForMigrations, MigrationScripts.WaitForMigrationsFileName, environment);
    }
}
