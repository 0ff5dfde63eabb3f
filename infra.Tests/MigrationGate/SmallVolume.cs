using System.Diagnostics;
using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// A backup volume that really fills up: a tmpfs of a few megabytes, mounted for the test (the
/// tests run as root, as .ci/run does) and filled with dumps and a ballast file of their own.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class SmallVolume : IAsyncDisposable
{
    private const string Ballast = "ballast";

    private SmallVolume(string path) => Path = path;

    public string Path { get; }

    public static async Task<SmallVolume> MountAsync(int megabytes)
    {
        var path = Directory.CreateTempSubdirectory("piefed-small-volume-").FullName;
        var output = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}M,mode=0777", "tmpfs", path);
        return output is null
            ? new SmallVolume(path)
            : throw new InvalidOperationException($"Mounting a {megabytes} MiB tmpfs at {path} failed (the tests need root, as .ci/run runs them): {output}");
    }

    public void Write(string name, int kilobytes) => File.WriteAllBytes(System.IO.Path.Combine(Path, name), new byte[kilobytes * 1024]);

    /// <summary>Leaves about <paramref name="leaveKilobytes"/> free, the rest taken by a file that is no dump.</summary>
    public void Fill(int leaveKilobytes)
    {
        var free = new DriveInfo(Path).AvailableFreeSpace;
        File.WriteAllBytes(System.IO.Path.Combine(Path, Ballast), new byte[Math.Max(0, free - (leaveKilobytes * 1024L))]);
    }

    public IReadOnlyList<string> Dumps()
        => [.. Directory.GetFiles(Path, "piefed-*.dump").Select(f => System.IO.Path.GetFileName(f)!)];

    public async ValueTask DisposeAsync()
    {
        await RunAsync("umount", Path);
        Directory.Delete(Path, recursive: true);
    }

    /// <summary>Runs a command; null when it succeeded, else what it said.</summary>
    private static async Task<string?> RunAsync(string command, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? null : error;
    }
}
