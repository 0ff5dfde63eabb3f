using System.Globalization;
using PieFed.Infra.Configuration;
using PieFed.Infra.Scripts;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

public sealed class DatabaseMigrationArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required AppRuntime Runtime { get; init; }

    public required MigrationSettings Migration { get; init; }

    public required ResourceSettings Resources { get; init; }

    /// <summary>Where the dump before a pending migration goes; null when backups before migrations are off.</summary>
    public required BackupStore? BackupsBeforeMigration { get; init; }

    /// <summary>The dump's own budget, added to the migration's deadline when a dump comes first.</summary>
    public required TimeSpan BackupTimeout { get; init; }

    /// <summary>The administrator a first install creates.</summary>
    public required AdminSettings Admin { get; init; }

    public required SecretKeyReference AdminPassword { get; init; }
}

/// <summary>
/// The release's one migration run: a Job that waits for PostgreSQL and Redis, takes the migration
/// lock, backs the database up when a migration is pending, runs <c>flask db upgrade</c>, and seeds
/// a brand-new instance (db_init.py). Pulumi awaits it, so nothing that
/// depends on it is touched unless it completed.
/// </summary>
public sealed class DatabaseMigration : ComponentResource
{
    public const string Component = "db-init";
    public const string ContainerName = "db-init";

    /// <summary>Flux's kustomize-controller never garbage-collects an object so annotated (its Kustomization spec, "Prune").</summary>
    public const string FluxPruneAnnotation = "kustomize.toolkit.fluxcd.io/prune";

    /// <summary>Argo CD never prunes an object so annotated (its user guide, "Sync Options", "No Prune Resources").</summary>
    public const string ArgoCdSyncOptionsAnnotation = "argocd.argoproj.io/sync-options";

    /// <summary>How long db_init.py waits for its servers and the migration lock before its own work.</summary>
    public const string DependencyTimeoutVariable = "DB_INIT_DEPENDENCY_TIMEOUT_SECONDS";

    /// <summary>What db_init.py reads the first administrator from.</summary>
    public const string AdminUserNameVariable = "PIEFED_ADMIN_USER_NAME";
    public const string AdminEmailVariable = "PIEFED_ADMIN_EMAIL";
    public const string AdminPasswordVariable = "PIEFED_ADMIN_PASSWORD";

    public DatabaseMigration(string name, DatabaseMigrationArgs args, ComponentResourceOptions? options = null)
        : base("piefed:migration:DatabaseMigration", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var migrationSeconds = (int)args.Migration.Timeout.TotalSeconds;
        var backupSeconds = args.BackupsBeforeMigration is null ? 0 : (int)args.BackupTimeout.TotalSeconds;
        // The dump before a migration has a budget of its own, so a large database never eats the migration's.
        var timeoutSeconds = migrationSeconds + backupSeconds;
        Deadline = TimeSpan.FromSeconds(timeoutSeconds);
        var labels = Labels.For(Component);

        var container = args.Runtime.Container(ContainerName, AppRuntime.Script(MigrationScripts.DbInitFileName), args.Resources, mountsMedia: false);
        container.Env.Add(new EnvVarArgs
        {
            Name = DependencyTimeoutVariable,
            // Leave the migration itself most of its time.
            Value = (migrationSeconds / 2).ToString(CultureInfo.InvariantCulture),
        });
        // A statement waiting for a lock queues every later query on its table behind it: the
        // migration gives up after a few seconds, and tries again for a quarter of its time.
        container.Env.Add(new EnvVarArgs
        {
            Name = "DB_INIT_LOCK_TIMEOUT_SECONDS",
            Value = ((int)args.Migration.LockTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        });
        container.Env.Add(new EnvVarArgs
        {
            Name = "DB_INIT_LOCK_RETRY_SECONDS",
            Value = (migrationSeconds / 4).ToString(CultureInfo.InvariantCulture),
        });
        if (args.BackupsBeforeMigration is not null)
        {
            container.Env.Add(new EnvVarArgs { Name = "DB_INIT_BACKUP_TIMEOUT_SECONDS", Value = backupSeconds.ToString(CultureInfo.InvariantCulture) });
        }

        // Only this container knows the administrator: db_init.py answers init-db's prompts with
        // it on standard input, and keeps it out of every command line and log.
        container.Env.Add(new EnvVarArgs { Name = AdminUserNameVariable, Value = args.Admin.UserName });
        container.Env.Add(new EnvVarArgs { Name = AdminEmailVariable, Value = args.Admin.Email });
        container.Env.Add(new EnvVarArgs
        {
            Name = AdminPasswordVariable,
            ValueFrom = new EnvVarSourceArgs
            {
                SecretKeyRef = new SecretKeySelectorArgs
                {
                    Name = args.AdminPassword.SecretName,
                    Key = args.AdminPassword.Key,
                    Optional = args.AdminPassword.Optional,
                },
            },
        });

        // Auto-named on purpose: a new image is a new Job with a new name, which the pods of the
        // same release wait for. No ttlSecondsAfterFinished: the TTL controller would delete the
        // Job under Pulumi and under the waiting pods, and the next `up` would migrate again.
        var job = AwaitedJob.Create(name, args.Namespace, labels, timeoutSeconds, args.Migration.BackoffLimit,
            args.Runtime.StandaloneSpec(container, args.BackupsBeforeMigration), this,
            // Rendered for GitOps, a release's Job file is gone as soon as the next release is
            // rendered, and a pruning controller would delete the Job with it, while the previous
            // release's pods (still serving while the new migration runs, or after it failed) wait
            // for it whenever one is recreated. Flux and Argo CD leave an object with these
            // annotations in place; the waiters delete the ones nothing waits for any more
            // (docs/gitops.md, "Old migration Jobs").
            [KeyValuePair.Create(FluxPruneAnnotation, "disabled"), KeyValuePair.Create(ArgoCdSyncOptionsAnnotation, "Prune=false")]);

        JobName = job.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?> { ["jobName"] = JobName });
    }

    public Output<string> JobName { get; }

    /// <summary>How long the Job may run: the migration's time, and the dump's before it. Pods wait for it as long.</summary>
    public TimeSpan Deadline { get; }
}
