using System.Collections.Immutable;
using System.Globalization;
using PieFed.Infra.Components;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra;

/// <summary>
/// One PieFed instance, assembled. The order of a release is written here and nowhere else:
/// the namespace; then RBAC, configuration, storage (media and backups), (in development) the
/// bundled servers and (when isolated) the network allowances, followed by the default deny; then
/// the migration Job; then everything that runs PieFed's code, the scheduled backup and the
/// restore's template included.
/// </summary>
public sealed class PieFedInstance : ComponentResource
{
    /// <summary>The ready PostgreSQL and Redis the bundled servers answer with, for their readiness probes.</summary>
    private const string PostgresReady = "pg_isready -h 127.0.0.1 -U piefed -d piefed";
    private const string RedisReady = "redis-cli -a \"$REDIS_PASSWORD\" --no-auth-warning ping | grep -q PONG";

    public PieFedInstance(string name, PieFedInstanceArgs args, ComponentResourceOptions? options = null)
        // Checked before the base constructor registers the instance itself: a bad input registers nothing.
        : this(name, InstanceSettings.Validate(args, name), options)
    {
    }

    private PieFedInstance(string name, PieFedSettings settings, ComponentResourceOptions? options)
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
            media?.ClaimName);

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
        }, After([configuration, .. servers, .. Present(backups), .. Present(allowances)]));

        var endpoint = new WebEndpoint($"{name}-web", new WebEndpointArgs
        {
            Namespace = ns.Name,
            ServerName = settings.ServerName,
            Ingress = settings.Ingress,
        }, After(ns));

        // No PieFed code runs before its migration completed, nor before its waiter may read the Job.
        var gate = new MigrationGate(migration.JobName, rbac.ServiceAccountName, settings.Migration.Timeout);
        var web = new PieFedDeployment($"{name}-web", new PieFedDeploymentArgs
        {
            Namespace = ns.Name,
            Component = "web",
            Container = WebContainer(runtime, settings.Web),
            Sidecars = settings.CommunitySearchRefreshHours is { } refreshHours ? [CommunitySearchSidecar(runtime, refreshHours)] : [],
            Replicas = settings.Web.Autoscaling is null ? settings.Web.Replicas : null,
            Runtime = runtime,
            Gate = gate,
            DisruptionBudget = settings.Web.CanRunSeveral,
            TerminationGracePeriodSeconds = WebGracefulTimeoutSeconds + WebShutdownMarginSeconds,
            Spread = settings.Spread,
        }, After(migration, rbac));
        var worker = new PieFedDeployment($"{name}-worker", new PieFedDeploymentArgs
        {
            Namespace = ns.Name,
            Component = "worker",
            Container = WorkerContainer(runtime, settings.Worker),
            Replicas = settings.Worker.Autoscaling is null ? settings.Worker.Replicas : null,
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
                Container = NotificationsContainer(runtime, notifications),
                Replicas = notifications.Replicas,
                Runtime = runtime,
                Gate = null,
                DisruptionBudget = notifications.Replicas > 1,
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
                Schedule = settings.Backup.Schedule,
                Resources = settings.Migration.Resources,
            }, After(migration, rbac));
        }

        Namespace = ns.Name;
        MigrationJobName = migration.JobName;
        WebDeploymentName = web.DeploymentName;
        WorkerDeploymentName = worker.DeploymentName;
        WebServiceName = endpoint.ServiceName;
        RegisterOutputs(new Dictionary<string, object?>
        {
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

    /// <summary>How long gunicorn lets requests in flight finish after SIGTERM (its --graceful-timeout).</summary>
    public const int WebGracefulTimeoutSeconds = 30;

    /// <summary>The kubelet's SIGKILL must come after gunicorn's own deadline, never before it.</summary>
    private const int WebShutdownMarginSeconds = 15;

    public static IReadOnlyList<string> WebCommand(WebSettings web)
        =>
        [
            "gunicorn", "--config", "gunicorn.conf.py",
            // gunicorn.conf.py counts the node's CPUs; the pod's share is what the operator configured.
            "--workers", web.GunicornWorkers.ToString(CultureInfo.InvariantCulture),
            "--graceful-timeout", WebGracefulTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
            "--preload", "pyfedi:app",
        ];

    /// <summary>Upstream's entrypoint_celery.sh consumes these three queues.</summary>
    public static readonly ImmutableArray<string> WorkerQueues = ["celery", "background", "send"];

    public static IReadOnlyList<string> WorkerCommand(WorkerSettings worker)
        =>
        [
            "celery", "-A", "celery_worker_docker.celery", "worker",
            $"--concurrency={worker.Concurrency.ToString(CultureInfo.InvariantCulture)}",
            $"--queues={string.Join(',', WorkerQueues)}",
        ];

    /// <summary>Upstream's entrypoint_async.sh: uvicorn serving fastapi_server:app on port 8000.</summary>
    public static readonly ImmutableArray<string> NotificationsCommand =
        ["uvicorn", "fastapi_server:app", "--host", "0.0.0.0", "--port", NotificationsEndpoint.Port.ToString(CultureInfo.InvariantCulture)];

    private static ContainerArgs NotificationsContainer(AppRuntime runtime, NotificationsSettings notifications)
    {
        var container = runtime.Container(NotificationsEndpoint.Component, NotificationsCommand, notifications.Resources, mountsMedia: false);
        container.Ports.Add(new ContainerPortArgs { Name = NotificationsEndpoint.PortName, ContainerPortValue = NotificationsEndpoint.Port });
        // /health answers 200 whether Redis is up or not (fastapi_server.py): a probe proves the event
        // loop answers, and a Redis outage restarts nothing. Streams stay open for hours, so the probes
        // use requests of their own.
        container.ReadinessProbe = new ProbeArgs
        {
            HttpGet = new HTTPGetActionArgs { Path = "/health", Port = NotificationsEndpoint.PortName },
            PeriodSeconds = 10,
            TimeoutSeconds = 5,
            FailureThreshold = 3,
        };
        container.LivenessProbe = new ProbeArgs
        {
            HttpGet = new HTTPGetActionArgs { Path = "/health", Port = NotificationsEndpoint.PortName },
            PeriodSeconds = 30,
            TimeoutSeconds = 15,
            FailureThreshold = 6,
        };
        return container;
    }

    /// <summary>The refresh can boot the app once (~350 MiB) while it runs; it idles in a shell's sleep.</summary>
    private static readonly ResourceSettings CommunitySearchResources = new("10m", "64Mi", "500m", "512Mi");

    /// <summary>
    /// `flask populate_community_search` writes the community suggestions and the disposable-email
    /// list into app/static/tmp, a per-pod volume, so each web pod refreshes its own copy. Beside
    /// gunicorn, never before it: the download needs egress and may fail, which is logged and
    /// retried at the next refresh while the pod serves.
    /// </summary>
    internal static ContainerArgs CommunitySearchSidecar(AppRuntime runtime, int refreshHours)
        => runtime.Container("community-search", ["sh", "-c", CommunitySearchLoop(refreshHours)], CommunitySearchResources, mountsMedia: false);

    internal static string CommunitySearchLoop(int refreshHours)
        => string.Create(CultureInfo.InvariantCulture, $$"""
            trap 'exit 0' TERM
            while true; do
              if flask populate_community_search; then
                echo "community-search: refreshed app/static/tmp; next refresh in {{refreshHours}} h"
              else
                echo "community-search: the refresh failed (exit $?); the previous files stay; next try in {{refreshHours}} h" >&2
              fi
              sleep {{refreshHours * 3600}} & wait $!
            done
            """);

    private static ContainerArgs WebContainer(AppRuntime runtime, WebSettings web)
    {
        var container = runtime.Container("web", WebCommand(web), web.Resources);
        container.Ports.Add(new ContainerPortArgs { Name = WebEndpoint.PortName, ContainerPortValue = WebEndpoint.Port });
        // /health answers without touching the database; /health2 runs heavy queries and is never a probe.
        // /health answers 6-9 s after gunicorn starts (measured with v1.7.7): the startup probe allows 5 minutes.
        container.StartupProbe = HealthProbe(periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60);
        // A saturated pod leaves the Service after 30 s of slow answers and comes back when it recovers ...
        container.ReadinessProbe = HealthProbe(periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3);
        // ... and is restarted only when it has not answered for 3 minutes, well past that.
        container.LivenessProbe = HealthProbe(periodSeconds: 30, timeoutSeconds: 15, failureThreshold: 6);
        return container;
    }

    private static ProbeArgs HealthProbe(int periodSeconds, int timeoutSeconds, int failureThreshold)
        => new()
        {
            HttpGet = new HTTPGetActionArgs { Path = "/health", Port = WebEndpoint.PortName },
            PeriodSeconds = periodSeconds,
            TimeoutSeconds = timeoutSeconds,
            FailureThreshold = failureThreshold,
        };

    private static ContainerArgs WorkerContainer(AppRuntime runtime, WorkerSettings worker)
    {
        var container = runtime.Container("worker", WorkerCommand(worker), worker.Resources);
        // Whether celery's pool is alive, read from /proc: no broker round trip (`celery inspect ping`
        // failed during every Redis outage and restarted every worker) and no second app-importing
        // process (~180 MiB for each ping, measured), so it fits the container's budget.
        container.LivenessProbe = new ProbeArgs
        {
            Exec = new ExecActionArgs { Command = { "python3", "-c", WorkerPoolAlive } },
            InitialDelaySeconds = 60,
            PeriodSeconds = 60,
            TimeoutSeconds = 10,
            FailureThreshold = 3,
        };
        return container;
    }

    /// <summary>
    /// Succeeds while PID 1 (celery's main process, which the container's command starts) has a
    /// child that is not a zombie: the prefork pool. A worker whose pool died is restarted.
    /// </summary>
    internal const string WorkerPoolAlive = """
        import os, sys

        def stat(pid):
            try:
                return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                return ["X", "0"]

        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
        sys.exit(0 if any(state != "Z" and parent == "1" for state, parent, *_ in map(stat, pids)) else 1)
        """;

    /// <summary>Celery's queues (the worker's --queues) in the broker's database, for KEDA.</summary>
    private static CeleryQueues CeleryQueuesOf(RedisServer? redis, WorkerAutoscalingSettings scaling)
    {
        var server = redis ?? throw new InvalidOperationException("KEDA needs the Redis settings; the settings loader refuses it with an existing Secret.");
        return new CeleryQueues(server.Host, server.Port, server.BrokerDb, server.Password, WorkerQueues, scaling.QueueLength, scaling.CooldownSeconds);
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
                var postgres = new BundledServer($"{name}-postgres", new BundledServerArgs
                {
                    Namespace = ns.Name,
                    Component = "postgres",
                    Image = bundled.PostgresImage,
                    Port = 5432,
                    RunAsUser = 70,
                    PasswordVariable = "POSTGRES_PASSWORD",
                    Environment =
                    [
                        new EnvVarArgs { Name = "POSTGRES_USER", Value = "piefed" },
                        new EnvVarArgs { Name = "POSTGRES_DB", Value = "piefed" },
                        // A subdirectory: the volume's root holds lost+found, which initdb refuses.
                        new EnvVarArgs { Name = "PGDATA", Value = "/var/lib/postgresql/data/pgdata" },
                    ],
                    ReadinessCommand = PostgresReady,
                    DataPath = "/var/lib/postgresql/data",
                    Settings = bundled,
                    Resources = new ResourceSettings("100m", "256Mi", "1", "1Gi"),
                    ProtectPassword = settings.ProtectData,
                }, ProtectedAfter(settings.ProtectData, ns));
                var redis = new BundledServer($"{name}-redis", new BundledServerArgs
                {
                    Namespace = ns.Name,
                    Component = "redis",
                    Image = bundled.RedisImage,
                    Port = 6379,
                    RunAsUser = 999,
                    PasswordVariable = "REDIS_PASSWORD",
                    Args = ["redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data"],
                    ReadinessCommand = RedisReady,
                    DataPath = "/data",
                    Settings = bundled,
                    Resources = new ResourceSettings("50m", "64Mi", "500m", "256Mi"),
                    ProtectPassword = settings.ProtectData,
                }, After(ns));
                var database = Output.Tuple(postgres.Host, postgres.Password).Apply(p =>
                    ConnectionUrls.Database(new DatabaseSettings(p.Item1, 5432, "piefed", "piefed", Output.CreateSecret(p.Item2), null)));
                return (new ConnectionSecrets(database, RedisUrl(redis, BundledCacheDb), RedisUrl(redis, BundledBrokerDb)),
                    [postgres, redis],
                    new RedisServer(redis.Host, 6379, BundledBrokerDb, redis.Password));
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

    private const int BundledCacheDb = 1;
    private const int BundledBrokerDb = 0;

    private static Output<string> RedisUrl(BundledServer redis, int db)
        => Output.Tuple(redis.Host, redis.Password).Apply(p =>
            ConnectionUrls.Redis(new RedisSettings(p.Item1, 6379, BundledCacheDb, BundledBrokerDb, Output.CreateSecret(p.Item2)), db));

    private static Resource[] Present(Resource? resource) => resource is null ? [] : [resource];

    private ComponentResourceOptions After(params Resource[] dependencies)
        => new() { Parent = this, DependsOn = dependencies };

    /// <summary>Pulumi refuses to delete a protected resource, and its children inherit the protection.</summary>
    private ComponentResourceOptions ProtectedAfter(bool protect, params Resource[] dependencies)
        => new() { Parent = this, DependsOn = dependencies, Protect = protect };
}
