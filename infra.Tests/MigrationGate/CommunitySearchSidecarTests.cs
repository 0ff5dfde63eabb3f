using System.Diagnostics;
using System.Runtime.Versioning;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The web pod's community-search container exactly as the program declares it, run with sh in a
/// stand-in image (real Flask; the stand-in's populate_community_search needs the schema, as
/// upstream's reads banned_instances), against the real PostgreSQL: a refresh that fails is logged and
/// the container keeps running, and SIGTERM ends it at once.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class CommunitySearchSidecarTests : StandInInstanceTest
{
    [Fact]
    public async Task RefreshThatFails_IsLoggedAndThePodCarriesOn()
    {
        using var container = await StartDeclaredSidecarAsync();
        var sidecar = container.MainProcess;

        var output = await ReadUntilAsync(sidecar, "community-search: the refresh failed");

        Assert.False(sidecar.HasExited, output);
        await StopAsync(sidecar);
    }

    [Fact]
    public async Task RefreshThatWorks_IsLoggedAndWaitsForTheNextOne()
    {
        await InstallAsync(Image);
        using var container = await StartDeclaredSidecarAsync();
        var sidecar = container.MainProcess;

        var output = await ReadUntilAsync(sidecar, "community-search: refreshed app/static/tmp; next refresh in 24 h");

        Assert.Contains("STANDIN-PIEFED: populate_community_search ran", output, StringComparison.Ordinal);
        await StopAsync(sidecar);
    }

    private async Task<Container> StartDeclaredSidecarAsync()
    {
        var run = await ProgramAsync(StackConfig.Prod);
        var sidecar = Assert.Single(run.Deployment("web").Inputs.Objects("spec.template.spec.containers"), c => c.Str("name") == "community-search");
        var command = sidecar.Array("command").Select(c => c!.GetValue<string>()).ToArray();
        // A session of its own, so that the whole container can be ended as its runtime ends it.
        var startInfo = new ProcessStartInfo("setsid", command)
        {
            WorkingDirectory = Image.AppDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.Environment.Clear();
        foreach (var (name, value) in DbInit.AppEnvironment(Database, Redis, Image))
        {
            startInfo.Environment[name] = value;
        }

        return new Container(Process.Start(startInfo)!);
    }

    private static async Task<string> ReadUntilAsync(Process process, string line)
    {
        var output = new System.Text.StringBuilder();
        var reading = Task.WhenAll(Pump(process.StandardOutput, output), Pump(process.StandardError, output));
        using var timeout = new CancellationTokenSource(DbInit.HardTimeout);
        while (!Text(output).Contains(line, StringComparison.Ordinal))
        {
            Assert.False(process.HasExited && reading.IsCompleted, $"The sidecar exited with {(process.HasExited ? process.ExitCode : 0)}:\n{Text(output)}");
            await Task.Delay(100, timeout.Token);
        }

        return Text(output);
    }

    private static string Text(System.Text.StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static async Task Pump(StreamReader reader, System.Text.StringBuilder output)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static async Task StopAsync(Process sidecar)
    {
        using (var kill = Process.Start("kill", ["-TERM", sidecar.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await sidecar.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, sidecar.ExitCode);
    }

    /// <summary>
    /// The container's processes: its main process, and what that leaves behind (the loop's <c>sleep</c>,
    /// once SIGTERM has ended the shell). When a container's main process ends, the runtime kills the
    /// rest of the container; disposing this does the same, so no test leaves a day-long sleep behind.
    /// </summary>
    private sealed class Container(Process mainProcess) : IDisposable
    {
        public Process MainProcess { get; } = mainProcess;

        public void Dispose()
        {
            // setsid made the main process the leader of a process group of its own: its pid names the group.
            using (var kill = Process.Start("kill", ["-KILL", "--", $"-{MainProcess.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)}"]))
            {
                kill.WaitForExit();
            }

            MainProcess.Dispose();
        }
    }
}
