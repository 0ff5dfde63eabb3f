using System.Diagnostics;
using System.Text;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// One run of a gate script as a real process: the exact text the Pulumi program ships, written to a
/// temporary file and started with the test interpreter, its stdout and stderr collected line by line
/// as one stream.
/// </summary>
public sealed class ScriptProcess : IAsyncDisposable
{
    private const string DefaultPython = "/usr/bin/python3";

    private readonly Process _process;
    private readonly string _directory;
    private readonly List<string> _lines = [];
    private readonly Lock _linesLock = new();
    private readonly SemaphoreSlim _lineAdded = new(0);

    private ScriptProcess(Process process, string directory)
    {
        _process = process;
        _directory = directory;
    }

    /// <summary>
    /// The interpreter of the tests: Debian's, whose apt packages provide psycopg2 and redis like the
    /// PieFed image does (a pyenv python3 on PATH would lack them).
    /// </summary>
    public static string Python =>
        Environment.GetEnvironmentVariable("PIEFED_TEST_PYTHON") is { Length: > 0 } configured ? configured : DefaultPython;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_linesLock)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>
    /// Starts the script with exactly <paramref name="environment"/> plus PATH and a UTF-8 locale,
    /// and a standard input that is already at its end, as a container's is.
    /// </summary>
    /// <param name="workingDirectory">The container's working directory, e.g. a stand-in image's /app; by default the script's own.</param>
    public static ScriptProcess Start(
        string scriptText, string fileName, IReadOnlyDictionary<string, string> environment, string? workingDirectory = null, params string[] arguments)
        => StartAnswering("", scriptText, fileName, environment, workingDirectory, arguments);

    /// <summary>As <see cref="Start"/>, with <paramref name="answers"/> on standard input, which then ends: as a person typing them would, then Ctrl-D.</summary>
    public static ScriptProcess StartAnswering(
        string answers, string scriptText, string fileName, IReadOnlyDictionary<string, string> environment, string? workingDirectory = null, params string[] arguments)
    {
        if (!File.Exists(Python))
        {
            throw new InvalidOperationException(
                $"The test interpreter {Python} does not exist. Install Debian's python3 with python3-psycopg2 and "
                + "python3-redis (apt-get install -y python3 python3-psycopg2 python3-redis) or point PIEFED_TEST_PYTHON at one.");
        }

        var directory = Directory.CreateTempSubdirectory("piefed-gate-").FullName;
        var scriptPath = Path.Combine(directory, fileName);
        File.WriteAllText(scriptPath, scriptText, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

        // Standard error goes into the same pipe as standard output, as one stream in the order the
        // script wrote it: read from two pipes, lines written in order could be collected out of it.
        // exec leaves the interpreter as the process itself, so signals and kills reach it.
        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = workingDirectory ?? directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add("exec \"$0\" \"$@\" 2>&1");
        startInfo.ArgumentList.Add(Python);
        startInfo.ArgumentList.Add(scriptPath);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // A clean environment: the host's (a CI pod's KUBERNETES_SERVICE_HOST, a pyenv PYTHONPATH) must not leak in.
        startInfo.Environment.Clear();
        startInfo.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
        startInfo.Environment["LANG"] = "C.UTF-8";
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        var process = new Process { StartInfo = startInfo };
        var run = new ScriptProcess(process, directory);
        process.OutputDataReceived += (_, line) => run.Collect(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        try
        {
            process.StandardInput.Write(answers);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process ended before reading: its exit code and output say why.
        }

        return run;
    }

    /// <summary>Kills the script and every process it started with SIGKILL, as when a container's deadline passes, and waits until they are gone.</summary>
    public void KillAll()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Sends SIGTERM, as the kubelet does when it stops a container.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Waits until a line containing <paramref name="fragment"/> has been written.</summary>
    public Task WaitForOutputAsync(string fragment, TimeSpan timeout) =>
        WaitForOutputAsync(output => output.Contains(fragment, StringComparison.Ordinal), $"\"{fragment}\"", timeout);

    /// <summary>Waits until at least <paramref name="count"/> lines contain <paramref name="fragment"/>.</summary>
    public Task WaitForOutputCountAsync(string fragment, int count, TimeSpan timeout) =>
        WaitForOutputAsync(output => CountOccurrences(output, fragment) >= count, $"{count} × \"{fragment}\"", timeout);

    public static int CountOccurrences(string text, string fragment)
    {
        var count = 0;
        for (var index = text.IndexOf(fragment, StringComparison.Ordinal); index >= 0; index = text.IndexOf(fragment, index + fragment.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// Waits for the process to exit and returns its exit code. A process still running after
    /// <paramref name="hardTimeout"/> is killed and the wait throws, so that a hang never wedges CI.
    /// </summary>
    public async Task<int> WaitForExitAsync(TimeSpan hardTimeout)
    {
        using var timeout = new CancellationTokenSource(hardTimeout);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The script did not exit within {hardTimeout.TotalSeconds:0.#} s and was killed. Its output:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _lineAdded.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void Collect(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_linesLock)
        {
            _lines.Add(line);
        }

        _lineAdded.Release();
    }

    private async Task WaitForOutputAsync(Func<string, bool> isSatisfied, string description, TimeSpan timeout)
    {
        using var expiry = new CancellationTokenSource(timeout);
        while (!isSatisfied(Output))
        {
            try
            {
                await _lineAdded.WaitAsync(expiry.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException(
                    $"The script did not write {description} within {timeout.TotalSeconds:0.#} s "
                    + $"(exited: {_process.HasExited}). Its output:\n{Output}");
            }
        }
    }
}
