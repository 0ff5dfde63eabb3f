using System.Globalization;
using PieFed.Infra.Configuration;
using PieFed.Infra.Scripts;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

public sealed class DatabaseRestoreArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required AppRuntime Runtime { get; init; }

    public required BackupStore Store { get; init; }

    public required RestoreRequest Restore { get; init; }

    /// <summary>The restore's own budget, after the wait for the database, the lock and the app's last sessions.</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>How long the sessions of the app that maintenance stopped may take to end.</summary>
    public required TimeSpan SessionsWait { get; init; }

    public required ResourceSettings Resources { get; init; }
}

/// <summary>
/// A declared restore (<c>piefed:maintenance.restore</c>): one run of <c>db_init.py restore</c>
/// with this release's image, which Pulumi awaits before this release's migration Job. So a
/// rollback (the previous image, and the dump taken before the upgrade) leaves that image's
/// migration nothing to do. The restore is one transaction: a run that fails or is killed leaves
/// the database as it was (db_init.py, <c>restore_atomically</c>).
/// </summary>
public sealed class DatabaseRestore : ComponentResource
{
    public const string Component = "db-restore";
    public const string FileVariable = "DB_RESTORE_FILE";
    public const string SessionsWaitVariable = "DB_RESTORE_SESSIONS_WAIT_SECONDS";

    public DatabaseRestore(string name, DatabaseRestoreArgs args, ComponentResourceOptions? options = null)
        : base("piefed:data:DatabaseRestore", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var container = Container(args.Runtime, args.Resources, args.SessionsWait);
        if (args.Restore.FileName is { } fileName)
        {
            container.Env.Add(new EnvVarArgs { Name = FileVariable, Value = fileName });
        }

        var deadlineSeconds = DeadlineSeconds(args.Timeout, args.SessionsWait);
        var labels = Labels.For(Component);
        // Another dump, or another image, is another run. A failed one rolled back, and is tried
        // again by the next `pulumi up`.
        // A restore that failed changed nothing; running it again unasked would only fail again.
        var job = AwaitedJob.Create(name, args.Namespace, labels, deadlineSeconds, backoffLimit: 0, args.Runtime.StandaloneSpec(container, args.Store), this);

        JobName = job.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?> { ["jobName"] = JobName });
    }

    public Output<string> JobName { get; }

    /// <summary>The container of a restore, declared or started by hand from the template.</summary>
    internal static ContainerArgs Container(AppRuntime runtime, ResourceSettings resources, TimeSpan sessionsWait)
    {
        var container = runtime.Container(ContainerName, [.. AppRuntime.Script(MigrationScripts.DbInitFileName), "restore"], resources, mountsMedia: false);
        container.Env.Add(DatabaseBackups.DependencyWait());
        container.Env.Add(new EnvVarArgs
        {
            Name = SessionsWaitVariable,
            Value = ((int)sessionsWait.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        });
        return container;
    }

    /// <summary>The wait for PostgreSQL and the lock, the wait for the app's sessions, then the restore's own budget.</summary>
    internal static int DeadlineSeconds(TimeSpan timeout, TimeSpan sessionsWait)
        => DatabaseBackups.WaitSeconds + (int)sessionsWait.TotalSeconds + (int)timeout.TotalSeconds;

    private const string ContainerName = "db-restore";
}
