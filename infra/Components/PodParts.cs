using PieFed.Infra.Configuration;
using PieFed.Infra.Scripts;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

/// <summary>What every PieFed container shares: the image, the app's environment and the gate's scripts.</summary>
public sealed record AppRuntime(
    ImageSettings Image,
    Output<string> EnvironmentConfigMapName,
    Output<string> SecretName,
    Output<string> ScriptsConfigMapName)
{
    private const string ScriptsVolumeName = "migration-scripts";

    /// <summary>
    /// A container of the PieFed image with its own command: the image's entrypoint would run
    /// <c>flask db upgrade</c> on every start, racing the other replicas.
    /// </summary>
    public ContainerArgs Container(string name, IEnumerable<string> command, ResourceSettings resources)
        => new()
        {
            Name = name,
            Image = Image.Reference,
            ImagePullPolicy = Image.PullPolicy,
            Command = command.ToArray(),
            WorkingDir = "/app",
            EnvFrom =
            {
                new EnvFromSourceArgs { ConfigMapRef = new ConfigMapEnvSourceArgs { Name = EnvironmentConfigMapName } },
                new EnvFromSourceArgs { SecretRef = new SecretEnvSourceArgs { Name = SecretName } },
            },
            Resources = Limits(resources),
        };

    public static IEnumerable<string> Script(string fileName) => ["python3", $"{MigrationScripts.MountPath}/{fileName}"];

    public VolumeArgs ScriptsVolume()
        => new()
        {
            Name = ScriptsVolumeName,
            // r--r--r--: the scripts are read by python3, never executed or changed.
            ConfigMap = new ConfigMapVolumeSourceArgs { Name = ScriptsConfigMapName, DefaultMode = 0b100_100_100 },
        };

    public static VolumeMountArgs ScriptsMount()
        => new() { Name = ScriptsVolumeName, MountPath = MigrationScripts.MountPath, ReadOnly = true };

    public static ResourceRequirementsArgs Limits(ResourceSettings resources)
        => new()
        {
            Requests = { ["cpu"] = resources.CpuRequest, ["memory"] = resources.MemoryRequest },
            Limits = { ["cpu"] = resources.CpuLimit, ["memory"] = resources.MemoryLimit },
        };
}

/// <summary>
/// The wait for this release's migration Job, as an init container. Pulumi orders the first
/// rollout; this gate also holds back every pod that starts later (rescheduled, scaled, or applied
/// by GitOps before the Job exists).
/// </summary>
public sealed record MigrationGate(Output<string> JobName, Output<string> ServiceAccountName, TimeSpan Timeout)
{
    public const string InitContainerName = "wait-for-migrations";
    public const string TokenVolumeName = "migration-waiter-token";
    public const string TokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>The waiter is small and short-lived; it must not hold the pod's real budget.</summary>
    public static readonly ResourceSettings WaiterResources = new("10m", "32Mi", "200m", "128Mi");

    /// <summary>A pod spec whose main containers start only once this release's migration has completed.</summary>
    public PodSpecArgs Spec(AppRuntime runtime, params ContainerArgs[] containers)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        return new PodSpecArgs
        {
            ServiceAccountName = ServiceAccountName,
            // Only the init container talks to the API: its token is mounted there and nowhere else.
            AutomountServiceAccountToken = false,
            EnableServiceLinks = false,
            InitContainers = { Waiter(runtime) },
            Containers = containers,
            Volumes = { runtime.ScriptsVolume(), TokenVolume() },
        };
    }

    private ContainerArgs Waiter(AppRuntime runtime)
        => new()
        {
            Name = InitContainerName,
            Image = runtime.Image.Reference,
            ImagePullPolicy = runtime.Image.PullPolicy,
            Command = AppRuntime.Script(MigrationScripts.WaitForMigrationsFileName).ToArray(),
            Env =
            {
                new EnvVarArgs { Name = "JOB_NAME", Value = JobName },
                new EnvVarArgs
                {
                    Name = "JOB_NAMESPACE",
                    ValueFrom = new EnvVarSourceArgs { FieldRef = new ObjectFieldSelectorArgs { FieldPath = "metadata.namespace" } },
                },
                new EnvVarArgs { Name = "WAIT_TIMEOUT_SECONDS", Value = ((int)Timeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) },
            },
            VolumeMounts =
            {
                AppRuntime.ScriptsMount(),
                new VolumeMountArgs { Name = TokenVolumeName, MountPath = TokenMountPath, ReadOnly = true },
            },
            Resources = AppRuntime.Limits(WaiterResources),
        };

    private static VolumeArgs TokenVolume()
        => new()
        {
            Name = TokenVolumeName,
            Projected = new ProjectedVolumeSourceArgs
            {
                Sources =
                {
                    new VolumeProjectionArgs
                    {
                        ServiceAccountToken = new ServiceAccountTokenProjectionArgs { Path = "token", ExpirationSeconds = 3607 },
                    },
                    new VolumeProjectionArgs
                    {
                        ConfigMap = new ConfigMapProjectionArgs
                        {
                            Name = "kube-root-ca.crt",
                            Items = { new KeyToPathArgs { Key = "ca.crt", Path = "ca.crt" } },
                        },
                    },
                    new VolumeProjectionArgs
                    {
                        DownwardAPI = new DownwardAPIProjectionArgs
                        {
                            Items =
                            {
                                new DownwardAPIVolumeFileArgs
                                {
                                    Path = "namespace",
                                    FieldRef = new ObjectFieldSelectorArgs { FieldPath = "metadata.namespace" },
                                },
                            },
                        },
                    },
                },
            },
        };
}
