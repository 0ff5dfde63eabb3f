using PieFed.Infra.Components;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra;

public sealed class PieFedInstanceArgs : ResourceArgs
{
    public required PieFedSettings Settings { get; init; }
}

/// <summary>
/// One PieFed instance, assembled. The order of a release is written here and nowhere else:
/// namespace; then RBAC and configuration; then the migration Job; then web and worker.
/// </summary>
public sealed class PieFedInstance : ComponentResource
{
    public static readonly IReadOnlyList<string> WebCommand = ["gunicorn", "--config", "gunicorn.conf.py", "--preload", "pyfedi:app"];

    public static readonly IReadOnlyList<string> WorkerCommand =
        ["celery", "-A", "celery_worker_docker.celery", "worker", "--concurrency=4", "--queues=celery,background,send"];

    public PieFedInstance(string name, PieFedInstanceArgs args, ComponentResourceOptions? options = null)
        : base("piefed:index:PieFedInstance", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var settings = args.Settings;

        var ns = new AppNamespace($"{name}-namespace", new AppNamespaceArgs { Name = settings.Namespace }, After());

        var rbac = new MigrationRbac($"{name}-migration-rbac", new MigrationRbacArgs { Namespace = ns.Name }, After(ns));
        var configuration = new AppConfiguration($"{name}-config", new AppConfigurationArgs
        {
            Namespace = ns.Name,
            Settings = settings,
        }, After(ns));
        var runtime = new AppRuntime(
            settings.Image,
            configuration.EnvironmentConfigMapName,
            configuration.SecretName,
            configuration.ScriptsConfigMapName);

        var migration = new DatabaseMigration($"{name}-db-init", new DatabaseMigrationArgs
        {
            Namespace = ns.Name,
            Runtime = runtime,
            Migration = settings.Migration,
            Resources = settings.Worker.Resources,
        }, After(configuration));

        // Pods may not start before their migration completed, nor before their waiter may read the Job.
        var gate = new MigrationGate(migration.JobName, rbac.ServiceAccountName, settings.Migration.Timeout);
        var web = new PieFedDeployment($"{name}-web", new PieFedDeploymentArgs
        {
            Namespace = ns.Name,
            Component = "web",
            Command = WebCommand,
            Workload = settings.Web,
            Runtime = runtime,
            Gate = gate,
            Ports = [new ContainerPortArgs { Name = "http", ContainerPortValue = 5000 }],
        }, After(migration, rbac));
        var worker = new PieFedDeployment($"{name}-worker", new PieFedDeploymentArgs
        {
            Namespace = ns.Name,
            Component = "worker",
            Command = WorkerCommand,
            Workload = settings.Worker,
            Runtime = runtime,
            Gate = gate,
        }, After(migration, rbac));

        Outputs = new Dictionary<string, object?>
        {
            ["namespace"] = ns.Name,
            ["migrationJobName"] = migration.JobName,
            ["webDeploymentName"] = web.DeploymentName,
            ["workerDeploymentName"] = worker.DeploymentName,
        };
        RegisterOutputs(Outputs);
    }

    /// <summary>What <c>pulumi stack output</c> shows: the names an operator types into kubectl.</summary>
    public IDictionary<string, object?> Outputs { get; }

    private ComponentResourceOptions After(params Resource[] dependencies)
        => new() { Parent = this, DependsOn = dependencies };
}
