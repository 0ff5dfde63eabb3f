using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The PieFed image as the gate's scripts meet it, standing in for PieFed itself, which cannot run
/// here: a working directory like the image's /app with pyfedi.py, the <c>app</c> package and its
/// Alembic migrations (StandIns/piefed), run by Debian's real Flask, Flask-Migrate and Alembic. So
/// `flask init-db` exists only when FLASK_APP names pyfedi.py, unknown commands fail, `flask db
/// upgrade` really applies revisions, and two concurrent upgrades really collide. Each test gets its
/// own copy, whose revisions it may add or remove to play an older or newer image.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class StandInImage : IDisposable
{
    public const string InitialRevision = "3a5e1c0b7d21";
    public const string HeadRevision = "8c4f2e9a6b13";

    private readonly string _root;

    private StandInImage(string root)
    {
        _root = root;
        AppDirectory = Path.Combine(root, "app");
        BinDirectory = Path.Combine(root, "bin");
    }

    /// <summary>The image's /app: the working directory of every PieFed container.</summary>
    public string AppDirectory { get; }

    /// <summary>Holds the image's <c>flask</c> and <c>celery</c>, run by the test interpreter (which has Debian's Flask and Celery).</summary>
    public string BinDirectory { get; }

    /// <summary>PATH inside the stand-in image: its <c>flask</c> and <c>celery</c> first, then the system's pg_dump and pg_restore.</summary>
    public string SearchPath => $"{BinDirectory}:/usr/local/bin:/usr/bin:/bin";

    public static StandInImage Create()
    {
        var image = new StandInImage(Directory.CreateTempSubdirectory("piefed-image-").FullName);
        Copy(Path.Combine(AppContext.BaseDirectory, "MigrationGate", "StandIns", "piefed"), image.AppDirectory);
        Directory.CreateDirectory(image.BinDirectory);
        foreach (var command in new[] { "flask", "celery" })
        {
            var entryPoint = Path.Combine(image.BinDirectory, command);
            File.WriteAllText(entryPoint, $"#!/bin/sh\nexec '{ScriptProcess.Python}' -m {command} \"$@\"\n");
            File.SetUnixFileMode(entryPoint, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return image;
    }

    /// <summary>Plays an image from before the revision: its migration file is gone.</summary>
    public void RemoveRevision(string revision)
    {
        File.Delete(Directory.GetFiles(VersionsDirectory, $"{revision}_*.py").Single());
    }

    /// <summary>Ships a further revision whose upgrade runs <paramref name="upgradeBody"/> (Python, indented by four spaces).</summary>
    public void AddRevision(string revision, string downRevision, string upgradeBody)
        => File.WriteAllText(
            Path.Combine(VersionsDirectory, $"{revision}_added_by_test.py"),
            $"from alembic import op\n\nrevision = \"{revision}\"\ndown_revision = \"{downRevision}\"\nbranch_labels = None\ndepends_on = None\n\n\n"
            + $"def upgrade():\n{upgradeBody}\n\n\ndef downgrade():\n    pass\n");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string VersionsDirectory => Path.Combine(AppDirectory, "migrations", "versions");

    private static void Copy(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.GetDirectories(source).Where(d => Path.GetFileName(d) != "__pycache__"))
        {
            Copy(directory, Path.Combine(target, Path.GetFileName(directory)));
        }
    }
}
