using System.Globalization;
using PieFed.Infra.Configuration;
using PieFed.Infra.Scripts;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

public sealed class DatabaseBackupsArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required AppRuntime Runtime { get; init; }

    public required MigrationGate Gate { get; init; }

    public required BackupStore Store { get; init; }

    /// <summary>The schedule (null when scheduled backups are disabled) and the dump's and the restore's budgets.</summary>
    public required BackupSettings Backup { get; init; }

    public required ResourceSettings Resources { get; init; }

    /// <summary>How long a restore waits for the sessions of the app that maintenance stopped.</summary>
    public required TimeSpan RestoreSessionsWait { get; init; }

    /// <summary>Maintenance: the scheduled backup starts no new run.</summary>
    public bool Suspended { get; init; }
}

/// <summary>
/// The scheduled backup, gated like every other run of PieFed's code, and the template of the
/// restore Job: a CronJob that never runs by itself, from which an operator creates the one-off Job
/// (docs/operations.md, "Restoring a backup"). The restore is not gated: it is what an operator
/// runs when this release's migration cannot complete.
/// </summary>
public sealed class DatabaseBackups : ComponentResource
{
    public const string BackupCronJobName = "piefed-db-backup";
    public const string RestoreCronJobName = "piefed-db-restore";

    /// <summary>What a backup or a restore may spend waiting for PostgreSQL and the migration lock, before its own budget.</summary>
    internal const int WaitSeconds = 300;

    /// <summary>February 31st: the restore's template is never scheduled, even if someone resumes it.</summary>
    private const string Never = "0 0 31 2 *";

    public DatabaseBackups(string name, DatabaseBackupsArgs args, ComponentResourceOptions? options = null)
        : base("piefed:data:DatabaseBackups", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var names = new List<Output<string>>();

        var backupSeconds = (int)args.Backup.Timeout.TotalSeconds;
        if (args.Backup.Schedule is { } schedule)
        {
            var backup = args.Runtime.Container("db-backup", [.. AppRuntime.Script(MigrationScripts.DbInitFileName), "backup"], args.Resources, mountsMedia: false);
            backup.Env.Add(DependencyWait());
            backup.Env.Add(new EnvVarArgs { Name = "DB_INIT_BACKUP_TIMEOUT_SECONDS", Value = backupSeconds.ToString(CultureInfo.InvariantCulture) });
            backup.VolumeMounts.Add(AppRuntime.ScriptsMount());
            var spec = args.Runtime.PodSpec(backup, args.Gate, mountsMedia: false);
            args.Store.Attach(backup, spec.Volumes);
            names.Add(ScheduledTasks.CronJob($"{name}-scheduled", BackupCronJobName, args.Namespace, Labels.For("db-backup"), schedule, spec, this,
                    suspend: args.Suspended, deadlineSeconds: WaitSeconds + backupSeconds)
                .Metadata.Apply(m => m.Name));
        }

        var restore = DatabaseRestore.Container(args.Runtime, args.Resources, args.RestoreSessionsWait);
        var restoreSpec = args.Runtime.StandaloneSpec(restore, args.Store);
        names.Add(ScheduledTasks.CronJob($"{name}-restore", RestoreCronJobName, args.Namespace, Labels.For(DatabaseRestore.Component), Never, restoreSpec, this, suspend: true,
                deadlineSeconds: DatabaseRestore.DeadlineSeconds(args.Backup.RestoreTimeout, args.RestoreSessionsWait))
            .Metadata.Apply(m => m.Name));

        CronJobNames = Output.All(names);
        RegisterOutputs(new Dictionary<string, object?> { ["cronJobNames"] = CronJobNames });
    }

    public Output<System.Collections.Immutable.ImmutableArray<string>> CronJobNames { get; }

    /// <summary>The wait that the Jobs' deadlines count on, set rather than left to the script's default.</summary>
    internal static EnvVarArgs DependencyWait()
        => new() { Name = DatabaseMigration.DependencyTimeoutVariable, Value = WaitSeconds.ToString(CultureInfo.InvariantCulture) };
}
