using System.Diagnostics;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The worker's liveness command exactly as the program declares it, run in a PID namespace of its own
/// (unshare, as root) where PID 1 stands in for celery's main process, the way the container runs it.
/// No network namespace has a route anywhere: a broker outage cannot reach the probe.
/// </summary>
public sealed class WorkerLivenessProbeTests
{
    [Fact]
    public async Task PoolAlive_ThePodStaysEvenWithNoNetworkAtAll()
        => Assert.Equal(0, await RunProbeAsync(mainProcessHasPool: true));

    [Fact]
    public async Task PoolGone_TheProbeFails()
        => Assert.Equal(1, await RunProbeAsync(mainProcessHasPool: false));

    private static async Task<int> RunProbeAsync(bool mainProcessHasPool)
    {
        var run = await ProgramAsync(StackConfig.Prod);
        var probe = run.Deployment("worker").Inputs.Array("spec.template.spec.containers[0].livenessProbe.exec.command").Select(c => c!.GetValue<string>()).ToList();
        Assert.Equal("python3", probe[0]);

        // PID 1 is this shell: with a pool, a child that outlives the probe; the probe runs as the shell's child, as exec probes do not.
        var pid1 = mainProcessHasPool ? "sleep 60 & pool=$!; \"$@\"; status=$?; kill $pool; exit $status" : "\"$@\"";
        var startInfo = new ProcessStartInfo("unshare", ["--pid", "--fork", "--mount-proc", "--net", "sh", "-c", pid1, "pid1", ScriptProcess.Python, .. probe[1..]])
        {
            RedirectStandardError = true,
        };
        using var process = Process.Start(startInfo)!;
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(errors.Length == 0, $"The probe, or unshare (which needs root), wrote: {errors}");
        return process.ExitCode;
    }
}
