using PieFed.Infra.Components;
using PieFed.Infra.Configuration;
using Pulumi;

namespace PieFed.Infra;

/// <summary>
/// One PieFed instance, assembled. The order of a release is written here and nowhere else:
/// the namespace; then RBAC, configuration, storage (media and backups), (in development) the
/// bundled servers and (when isolated) the network allowances, followed by the default deny; then,
/// in maintenance, a declared restore; then the migration Job; then everything that runs PieFed's
/// code, the scheduled backup and the restore's template included.
/// </summary>
public sealed class PieFedInstance : ComponentResource
{
    /// <summary>The package's constructor: a program in any language gives the inputs, checked here.</summary>
    public PieFedInstance(string name, PieFedInstanceArgs args, ComponentResourceOptions? options = null)
        // Checked before the base constructor registers the instance itself: a bad input registers nothing.
        : this(name, InstanceSettings.Validate(args, name), options)
    {
    }

    /// <summary>
    /// The stack's constructor: <see cref="StackConfiguration.Read()"/> has already checked the
    /// configuration with the same validator and reported every problem, so its settings come
    /// straight here instead of being turned back into inputs and checked again.
    /// </summary>
    internal PieFedInstance(string name, PieFedSettings settings, ComponentResourceOptions? options)
        : base("piefed:index:PieFedInstance", name, options)
    {
        var ns = new AppNamespace($"{name}-namespace", new AppNamespaceArgs { Name = settings.Namespace }, ProtectedAfter(settings.ProtectData));

        var rbac = new MigrationRbac($"{name}-migration-rbac", new MigrationRbacArgs
        {
            Namespace = ns.Name,
            AccountName = settings.Adoption.LegacyNames ? MigrationRbac.LegacyAccountName : MigrationRbac.DefaultAccountName,
        }, After(ns));
        var media = settings.Media.Storage == MediaStorage.PersistentVolumeClaim
            ? new MediaVolume($"{name}-media", new MediaVolumeArgs { Namespace = ns.Name, Media = settings.Media }, ProtectedAfter(settings.ProtectData, ns))
            : null;
        var backups = settings.Backup.Enabled
            ? new BackupVolume($"{name}-backups", new BackupVolumeArgs { Namespace = ns.Name, Backup = settings.Backup }, ProtectedAfter(settings.ProtectData, ns))
            : null;
        var (connections, servers, redisServer) = DataServices(name, ns, settings);
        var configuration = new AppConfiguration($"{name}-config", new AppConfigurationArgs
        {
            Namespace = ns.Name,
            Settings = settings,
            Connections = connections,
        }, After(ns));
        var allowances = IsolateNetwork(name, ns, settings);
        var runtime = new AppRuntime(
            settings.Image,
            configuration.EnvironmentConfigMapName,
            configuration.SecretName,
            configuration.ScriptsConfigMapName,
            media?.ClaimName,
            (settings.DataServices as ExternalDataServices)?.Database.CaSecret);

        var maintenance = settings.Maintenance;
        // The app's pods that maintenance stops end their sessions within their grace period; a
        // minute more covers the kubelet noticing, and a session that outlives it is named, not waited for.
        var sessionsWait = TimeSpan.FromSeconds(Math.Max(AppContainers.WebTerminationGracePeriodSeconds, settings.Worker.TerminationGracePeriodSeconds) + 60);
        var restore = maintenance.Restore is { } request
            ? new DatabaseRestore($"{name}-db-restore", new DatabaseRestoreArgs
            {
                Namespace = ns.Name,
                Runtime = runtime,
                Store = backups!.Store,
                Restore = request,
                Timeout = settings.Backup.RestoreTimeout,
                SessionsWait = sessionsWait,
                Resources = settings.Migration.Resources,
            }, After([configuration, .. servers, backups, .. Present(allowances)]))
            : null;

        // The migration reads the configuration, needs its servers up, and backs up to its volume.
        // In an isolated namespace it also needs its way to them: the default deny may be in place
        // already (or be created alongside), so the Job starts once the allowances exist rather
        // than spend its deadline refused.
        var migration = new DatabaseMigration($"{name}-db-init", new DatabaseMigrationArgs
        {
            Namespace = ns.Name,
            Runtime = runtime,
            Migration = settings.Migration,
            Resources = settings.Migration.Resources,
            BackupsBeforeMigration = settings.Backup.BeforeMigration ? backups!.Store : null,
            BackupTimeout = settings.Backup.Timeout,
            Admin = settings.Admin,
            AdminPassword = configuration.AdminPasswordSecret,
        }, After([configuration, .. servers, .. Present(backups), .. Present(allowances), .. Present(restore)]));

        var endpoint = new WebEndpoint($"{name}-web", new WebEndpointArgs
        {
            Namespace = ns.Name,
            ServerName = settings.ServerName,
            Ingress = settings.Ingress,
        }, After(ns));

        // No PieFed code runs before its migration completed, nor before its waiter may read the Job.
        var gate = new MigrationGate(migration.JobName, rbac.ServiceAccountName, migration.Deadline);
        var web = new PieFedDeployment($"{name}-web", new PieFedDeploymentArgs
        {
            Namespace = ns.Name,
            Component = "web",
            Container = AppContainers.Web(runtime, settings.Web),
            Sidecars = settings.CommunitySearchRefreshHours is { } refreshHours ? [AppContainers.CommunitySearchSidecar(runtime, refreshHours)] : [],
            Replicas = settings.Web.Autoscaling is { } webAutoscaling ? ReplicaCount.ByAutoscaler(webAutoscaling.MinReplicas) : ReplicaCount.Fixed(settings.Web.Replicas),
            Stopped = maintenance.Enabled,
            Runtime = runtime,
            Gate = gate,
            DisruptionBudget = settings.Web.CanRunSeveral,
            TerminationGracePeriodSeconds = AppContainers.WebTerminationGracePeriodSeconds,
            Spread = settings.Spread,
        }, After(migration, rbac));
        var worker = new PieFedDeployment($"{name}-worker", new PieFedDeploymentArgs
        {
            Namespace = ns.Name,
            Component = "worker",
            Container = AppContainers.Worker(runtime, settings.Worker),
            Replicas = settings.Worker.Autoscaling is { } workerAutoscaling ? ReplicaCount.ByAutoscaler(workerAutoscaling.MinReplicas) : ReplicaCount.Fixed(settings.Worker.Replicas),
            Stopped = maintenance.Enabled,
            Runtime = runtime,
            Gate = gate,
            DisruptionBudget = settings.Worker.CanRunSeveral,
            TerminationGracePeriodSeconds = settings.Worker.TerminationGracePeriodSeconds,
            Spread = settings.Spread,
        }, After(migration, rbac));
        if (settings.Web.Autoscaling is { } webScaling)
        {
            new WorkloadAutoscaler($"{name}-web-autoscaler", new WorkloadAutoscalerArgs
            {
                Namespace = ns.Name,
                DeploymentName = web.DeploymentName,
                Component = "web",
                MinReplicas = webScaling.MinReplicas,
                MaxReplicas = webScaling.MaxReplicas,
                CpuUtilization = webScaling.CpuUtilization,
                MemoryUtilization = webScaling.MemoryUtilization,
                Paused = maintenance.Enabled,
            }, After(web));
        }

        if (settings.Worker.Autoscaling is { } workerScaling)
        {
            new WorkloadAutoscaler($"{name}-worker-autoscaler", new WorkloadAutoscalerArgs
            {
                Namespace = ns.Name,
                DeploymentName = worker.DeploymentName,
                Component = "worker",
                MinReplicas = workerScaling.MinReplicas,
                MaxReplicas = workerScaling.MaxReplicas,
                CpuUtilization = workerScaling.CpuUtilization,
                Queues = workerScaling.Keda ? CeleryQueuesOf(redisServer, workerScaling) : null,
                Paused = maintenance.Enabled,
            }, After(worker));
        }

        // The notifications service talks to Redis and to other instances, never to the database
        // (upstream's fastapi_server.py): it has no schema to wait for, so it is not gated and does
        // not wait for the migration.
        if (settings.Notifications is { } notifications)
        {
            new NotificationsEndpoint($"{name}-notifications", new NotificationsEndpointArgs
            {
                Namespace = ns.Name,
                ServerName = settings.ServerName,
                Ingress = settings.Ingress,
            }, After(ns));
            new PieFedDeployment($"{name}-notifications", new PieFedDeploymentArgs
            {
                Namespace = ns.Name,
                Component = NotificationsEndpoint.Component,
                Container = AppContainers.Notifications(runtime, notifications),
                Replicas = ReplicaCount.Fixed(notifications.Replicas),
                Stopped = maintenance.Enabled,
                Runtime = runtime,
                Gate = null,
                DisruptionBudget = notifications.Replicas > 1,
                TerminationGracePeriodSeconds = AppContainers.NotificationsTerminationGracePeriodSeconds,
                Spread = settings.Spread,
            }, After([configuration, .. servers]));
        }

        if (!settings.ScheduledTasks.IsEmpty)
        {
            new ScheduledTasks($"{name}-cron", new ScheduledTasksArgs
            {
                Namespace = ns.Name,
                Tasks = settings.ScheduledTasks,
                Runtime = runtime,
                Gate = gate,
                Resources = settings.Worker.Resources,
                Suspended = maintenance.Enabled,
            }, After(migration, rbac));
        }

        if (backups is not null)
        {
            new DatabaseBackups($"{name}-db-backups", new DatabaseBackupsArgs
            {
                Namespace = ns.Name,
                Runtime = runtime,
                Gate = gate,
                Store = backups.Store,
                Backup = settings.Backup,
                Resources = settings.Migration.Resources,
                RestoreSessionsWait = sessionsWait,
                Suspended = maintenance.Enabled,
            }, After(migration, rbac));
        }

        Namespace = ns.Name;
        MigrationJobName = migration.JobName;
        WebDeploymentName = web.DeploymentName;
        WorkerDeploymentName = worker.DeploymentName;
        WebServiceName = endpoint.ServiceName;
        AdminUserName = Output.Create(settings.Admin.UserName);
        AdminPassword = configuration.AdminPassword ?? Output.CreateSecret(string.Empty);
        RegisterOutputs(new Dictionary<string, object?>
        {
            ["adminUserName"] = AdminUserName,
            ["adminPassword"] = AdminPassword,
            ["namespace"] = Namespace,
            ["migrationJobName"] = MigrationJobName,
            ["webDeploymentName"] = WebDeploymentName,
            ["workerDeploymentName"] = WorkerDeploymentName,
            ["webServiceName"] = WebServiceName,
        });
    }

    // The names an operator types into kubectl.
    [Output("namespace")]
    public Output<string> Namespace { get; }

    /// <summary>This release's migration Job, whose logs tell how the last migration went.</summary>
    [Output("migrationJobName")]
    public Output<string> MigrationJobName { get; }

    [Output("webDeploymentName")]
    public Output<string> WebDeploymentName { get; }

    [Output("workerDeploymentName")]
    public Output<string> WorkerDeploymentName { get; }

    [Output("webServiceName")]
    public Output<string> WebServiceName { get; }

    /// <summary>The administrator the first install created, to log in with.</summary>
    [Output("adminUserName")]
    public Output<string> AdminUserName { get; }

    /// <summary>
    /// The first administrator's password (secret): the one given or generated, or empty when it is
    /// in the operator's existing Secret. PieFed keeps its own copy once the account exists: a change
    /// here after the first install changes nothing (docs/operations.md, "The administrator").
    /// </summary>
    [Output("adminPassword")]
    public Output<string> AdminPassword { get; }

    /// <summary>Celery's queues (the worker's --queues) in the broker's database, for KEDA.</summary>
    private static CeleryQueues CeleryQueuesOf(RedisServer? redis, WorkerAutoscalingSettings scaling)
    {
        var server = redis ?? throw new InvalidOperationException("KEDA needs the Redis settings; the settings loader refuses it with an existing Secret.");
        return new CeleryQueues(server.Host, server.Port, server.BrokerDb, server.Password, PieFedImage.WorkerQueues, scaling.QueueLength, scaling.CooldownSeconds);
    }

    /// <summary>The broker Redis, where it is known to the program (not in an operator's own Secret).</summary>
    private sealed record RedisServer(Output<string> Host, int Port, int BrokerDb, Output<string>? Password);

    private (ConnectionSecrets? Connections, Resource[] Servers, RedisServer? Redis) DataServices(string name, AppNamespace ns, PieFedSettings settings)
    {
        switch (settings.DataServices)
        {
            case DataServicesInExistingSecret:
                return (null, [], null);
            case ExternalDataServices external:
                return (new ConnectionSecrets(
                        ConnectionUrls.Database(external.Database),
                        ConnectionUrls.Redis(external.Redis, external.Redis.CacheDb),
                        ConnectionUrls.Redis(external.Redis, external.Redis.BrokerDb)),
                    [],
                    new RedisServer(Output.Create(external.Redis.Host), external.Redis.Port, external.Redis.BrokerDb, external.Redis.Password));
            case BundledDataServices bundled:
                var postgres = BundledServers.Postgres($"{name}-postgres", ns.Name, bundled, settings.ProtectData, ProtectedAfter(settings.ProtectData, ns));
                var redis = BundledServers.Redis($"{name}-redis", ns.Name, bundled, settings.ProtectData, After(ns));
                return (new ConnectionSecrets(BundledServers.DatabaseUrl(postgres), BundledServers.RedisUrl(redis, BundledServers.CacheDb), BundledServers.RedisUrl(redis, BundledServers.BrokerDb)),
                    [postgres, redis],
                    new RedisServer(redis.Host, BundledServers.RedisPort, BundledServers.BrokerDb, redis.Password));
            default:
                throw new InvalidOperationException($"Unknown data services {settings.DataServices.GetType().Name}.");
        }
    }

    /// <summary>
    /// NetworkPolicies, when enabled: the allowances first, then the default deny, so that turning
    /// isolation on never cuts a running instance off (and turning it off removes the deny first).
    /// Returns the allowances, which the migration waits for.
    /// </summary>
    private NetworkAllowances? IsolateNetwork(string name, AppNamespace ns, PieFedSettings settings)
    {
        if (settings.NetworkPolicy is not { } policy)
        {
            return null;
        }

        var allowances = new NetworkAllowances($"{name}-network", new NetworkAllowancesArgs
        {
            Namespace = ns.Name,
            Policy = policy,
            DataServices = settings.DataServices,
            S3Endpoint = settings.Media.S3?.Endpoint,
            Notifications = settings.Notifications is not null,
        }, After(ns));
        new NetworkIsolation($"{name}-default-deny", new NetworkIsolationArgs { Namespace = ns.Name }, After(allowances));
        return allowances;
    }

    private static Resource[] Present(Resource? resource) => resource is null ? [] : [resource];

    private ComponentResourceOptions After(params Resource[] dependencies)
        => new() { Parent = this, DependsOn = dependencies };

    /// <summary>Pulumi refuses to delete a protected resource, and its children inherit the protection.</summary>
    private ComponentResourceOptions ProtectedAfter(bool protect, params Resource[] dependencies)
        => new() { Parent = this, DependsOn = dependencies, Protect = protect };
}
