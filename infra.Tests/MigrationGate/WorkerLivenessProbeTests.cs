using System.Diagnostics;
using System.Globalization;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The worker's liveness command exactly as the program declares it, against a real celery worker
/// (Debian's celery, the worker command as declared, the broker on the test Redis) that is PID 1 of
/// a PID namespace of its own, as in the container; the probe runs inside that namespace, as the
/// kubelet's exec does (unshare and nsenter, as root). Celery's prefork pool is killed for real.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WorkerLivenessProbeTests : StandInInstanceTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PoolAlive_ThePodStays()
    {
        await using var worker = await StartWorkerAsync();

        Assert.Equal(0, await ProbeAsync(worker));
    }

    [Fact]
    public async Task PoolDeadUnderAHungMainProcess_TheProbeFails_AndPassesAgainOnceCeleryReplacesIt()
    {
        await using var worker = await StartWorkerAsync();
        var pool = Children(worker.MainPid);
        Assert.NotEmpty(pool);

        // A main process that cannot reap or replace its pool: the killed workers stay zombies.
        Signal("STOP", worker.MainPid);
        foreach (var process in pool)
        {
            Signal("KILL", process);
        }

        await WaitUntilAsync(() => pool.All(p => State(p) is 'Z' or null), () => $"the killed pool {string.Join(", ", pool.Select(p => $"{p}:{State(p)}"))} never became zombies\n{worker.Output}");
        Assert.Equal(1, await ProbeAsync(worker));

        // Celery, running again, reaps the dead and forks new workers: no restart is due.
        Signal("CONT", worker.MainPid);
        await WaitUntilAsync(
            () => Children(worker.MainPid).Any(p => !pool.Contains(p) && State(p) is not ('Z' or null)),
            () => $"no new pool process, main {worker.MainPid}:{State(worker.MainPid)} has {string.Join(", ", Children(worker.MainPid).Select(p => $"{p}:{State(p)}"))}\n{worker.Output}");
        Assert.Equal(0, await ProbeAsync(worker));
    }

    private async Task<Worker> StartWorkerAsync()
    {
        var run = await ProgramAsync(StackConfig.Prod);
        var container = run.Deployment("worker").Inputs.At("spec.template.spec.containers[0]")!;
        var command = container.Array("command").Select(c => c!.GetValue<string>()).ToList();
        Assert.Equal("celery", command[0]);
        var startInfo = new ProcessStartInfo("unshare", ["--pid", "--fork", "--mount-proc", .. command])
        {
            WorkingDirectory = Image.AppDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.Environment.Clear();
        foreach (var (name, value) in DbInit.AppEnvironment(Database, Redis, Image, pod: "piefed-worker-test"))
        {
            startInfo.Environment[name] = value;
        }

        startInfo.Environment["LANG"] = "C.UTF-8";
        var worker = new Worker(Process.Start(startInfo)!, container.Array("livenessProbe.exec.command").Select(c => c!.GetValue<string>()).ToList());
        // Started once celery's main process (the namespace's PID 1) has forked its whole pool.
        var concurrency = int.Parse(command.Single(c => c.StartsWith("--concurrency=", StringComparison.Ordinal))["--concurrency=".Length..], CultureInfo.InvariantCulture);
        await WaitUntilAsync(() => worker.Unshare.HasExited || Children(worker.Unshare.Id) is [var main] && Children(main).Count >= concurrency, () => worker.Output);
        Assert.False(worker.Unshare.HasExited, $"The worker did not start:\n{worker.Output}");
        worker.MainPid = Assert.Single(Children(worker.Unshare.Id));
        // Up once it answers through the broker: its pool has reported in (a pool lost before that
        // is "Could not start worker processes", and celery exits).
        await WaitUntilAsync(() => Answers(startInfo), () => $"the worker never answered a ping\n{worker.Output}");
        return worker;
    }

    /// <summary>Whether the worker answers <c>celery inspect ping</c>, run as the worker is, through the broker.</summary>
    private static bool Answers(ProcessStartInfo worker)
    {
        // The image's celery, first on the container's PATH.
        var celery = Path.Combine(worker.Environment["PATH"]!.Split(':')[0], "celery");
        var ping = new ProcessStartInfo(celery, ["-A", "celery_worker_docker.celery", "inspect", "ping", "--timeout", "2"])
        {
            WorkingDirectory = worker.WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        ping.Environment.Clear();
        foreach (var (name, value) in worker.Environment)
        {
            ping.Environment[name] = value;
        }

        using var process = Process.Start(ping)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0;
    }

    /// <summary>The probe's command in the worker's PID and mount namespaces, where /proc is the container's.</summary>
    private static async Task<int> ProbeAsync(Worker worker)
    {
        using var probe = Process.Start(new ProcessStartInfo("nsenter", ["--target", worker.MainPid.ToString(CultureInfo.InvariantCulture), "--pid", "--mount", "--", ScriptProcess.Python, .. worker.Probe.Skip(1)])
        {
            RedirectStandardError = true,
        })!;
        var errors = await probe.StandardError.ReadToEndAsync();
        await probe.WaitForExitAsync().WaitAsync(Patience);
        Assert.True(errors.Length == 0, $"The probe, or nsenter (which needs root), wrote: {errors}");
        Assert.Equal("python3", worker.Probe[0]);
        return probe.ExitCode;
    }

    private static List<int> Children(int pid)
        => File.Exists($"/proc/{pid}/task/{pid}/children")
            ? [.. File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture))]
            : [];

    /// <summary>A process's state letter (R, S, T, Z, ...), or null once it is gone.</summary>
    private static char? State(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat").Split(')')[^1].Trim()[0];
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string>? output = null)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"The worker never got there. Its output:\n{output?.Invoke()}");
            await Task.Delay(50);
        }
    }

    private sealed class Worker : IAsyncDisposable
    {
        private readonly System.Text.StringBuilder _output = new();

        public Worker(Process unshare, IReadOnlyList<string> probe)
        {
            Unshare = unshare;
            Probe = probe;
            unshare.OutputDataReceived += (_, line) => Collect(line.Data);
            unshare.ErrorDataReceived += (_, line) => Collect(line.Data);
            unshare.BeginOutputReadLine();
            unshare.BeginErrorReadLine();
        }

        public Process Unshare { get; }

        public IReadOnlyList<string> Probe { get; }

        public int MainPid { get; set; }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            Unshare.Kill(entireProcessTree: true);
            await Unshare.WaitForExitAsync();
            Unshare.Dispose();
        }

        private void Collect(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
