using PieFed.Infra.Configuration;
using PieFed.Infra.Scripts;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

/// <summary>What every PieFed container shares: the image, the app's environment, its volumes and the gate's scripts.</summary>
/// <param name="MediaClaimName">The uploads' volume claim; null when media lives in S3.</param>
/// <param name="DatabaseCaSecret">The Secret with PostgreSQL's CA (<see cref="DatabaseCa"/>); null when nothing verifies the server.</param>
public sealed record AppRuntime(
    ImageSettings Image,
    Output<string> EnvironmentConfigMapName,
    Output<string> SecretName,
    Output<string> ScriptsConfigMapName,
    Output<string>? MediaClaimName,
    string? DatabaseCaSecret)
{
    private const string ScriptsVolumeName = "migration-scripts";
    private const string MediaVolumeName = PieFedImage.MediaVolume;

    /// <summary>
    /// A container of the PieFed image with its own command: the image's entrypoint would run
    /// <c>flask db upgrade</c> on every start, racing the other replicas.
    /// </summary>
    /// <param name="mountsMedia">False for the migration, which has no use for uploads and must not wait for their volume.</param>
    public ContainerArgs Container(string name, IEnumerable<string> command, ResourceSettings resources, bool mountsMedia = true)
    {
        var container = new ContainerArgs
        {
            Name = name,
            Image = Image.Reference,
            ImagePullPolicy = Image.PullPolicy,
            Command = command.ToArray(),
            WorkingDir = PieFedImage.AppDirectory,
            EnvFrom =
            {
                new EnvFromSourceArgs { ConfigMapRef = new ConfigMapEnvSourceArgs { Name = EnvironmentConfigMapName } },
                new EnvFromSourceArgs { SecretRef = new SecretEnvSourceArgs { Name = SecretName } },
            },
            Resources = Limits(resources),
            SecurityContext = Security.Container(),
        };
        foreach (var (volume, path) in PieFedImage.WritablePaths.Where(m => mountsMedia || m.Volume != MediaVolumeName))
        {
            container.VolumeMounts.Add(new VolumeMountArgs { Name = volume, MountPath = path });
        }

        if (DatabaseCaSecret is not null)
        {
            container.VolumeMounts.Add(DatabaseCa.Mount());
        }

        return container;
    }

    /// <summary>The volumes every PieFed pod mounts, and the gate's scripts.</summary>
    public InputList<VolumeArgs> Volumes(bool mountsMedia = true)
    {
        var volumes = new InputList<VolumeArgs>
        {
            new VolumeArgs { Name = "tmp", EmptyDir = new EmptyDirVolumeSourceArgs() },
            new VolumeArgs { Name = "logs", EmptyDir = new EmptyDirVolumeSourceArgs() },
            // gunicorn's worker heartbeat files and PieFed's file cache want RAM, not the node's disk.
            new VolumeArgs { Name = "dshm", EmptyDir = new EmptyDirVolumeSourceArgs { Medium = "Memory", SizeLimit = "256Mi" } },
            new VolumeArgs
            {
                Name = ScriptsVolumeName,
                // r--r--r--: the scripts are read by python3, never executed or changed.
                ConfigMap = new ConfigMapVolumeSourceArgs { Name = ScriptsConfigMapName, DefaultMode = 0b100_100_100 },
            },
        };
        if (DatabaseCaSecret is { } caSecret)
        {
            volumes.Add(DatabaseCa.Volume(caSecret));
        }

        if (mountsMedia)
        {
            volumes.Add(MediaClaimName is null
                ? new VolumeArgs { Name = MediaVolumeName, EmptyDir = new EmptyDirVolumeSourceArgs() }
                : new VolumeArgs { Name = MediaVolumeName, PersistentVolumeClaim = new PersistentVolumeClaimVolumeSourceArgs { ClaimName = MediaClaimName } });
        }

        return volumes;
    }

    /// <summary>
    /// The one pod template of PieFed's image: hardened (<see cref="Security.PodSpec"/>), with the
    /// app's volumes and, when a gate is given, started only once this release's migration completed.
    /// </summary>
    /// <param name="mountsMedia">False for pods with no use for uploads, which must not wait for their volume.</param>
    public PodSpecArgs PodSpec(ContainerArgs container, MigrationGate? gate, bool mountsMedia)
    {
        var spec = Security.PodSpec(PieFedImage.User);
        spec.Containers.Add(container);
        spec.Volumes = Volumes(mountsMedia);
        gate?.Guard(spec, this);
        return spec;
    }

    /// <summary>
    /// A pod of one run of the migration script, without the gate: the migration itself, and the
    /// restore that an operator runs when a migration cannot complete.
    /// </summary>
    public PodSpecArgs StandaloneSpec(ContainerArgs container, BackupStore? backups)
    {
        ArgumentNullException.ThrowIfNull(container);
        container.VolumeMounts.Add(ScriptsMount());
        var spec = PodSpec(container, gate: null, mountsMedia: false);
        spec.RestartPolicy = "Never";
        backups?.Attach(container, spec.Volumes);
        return spec;
    }

    public static IEnumerable<string> Script(string fileName) => ["python3", $"{MigrationScripts.MountPath}/{fileName}"];

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
/// rollout; this gate also holds back every pod that starts later (rescheduled, scaled, a
/// CronJob's run, or applied by GitOps before the Job exists).
/// </summary>
public sealed record MigrationGate(Output<string> JobName, Output<string> ServiceAccountName, TimeSpan Timeout)
{
    public const string InitContainerName = "wait-for-migrations";
    public const string TokenVolumeName = "migration-waiter-token";
    public const string TokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>The waiter is small and short-lived; it must not hold the pod's real budget.</summary>
    public static readonly ResourceSettings WaiterResources = new("10m", "32Mi", "200m", "128Mi");

    /// <summary>Holds the pod's containers back until this release's migration has completed.</summary>
    public void Guard(PodSpecArgs spec, AppRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(runtime);
        // Only the init container talks to the API: its token is mounted there and nowhere else.
        spec.ServiceAccountName = ServiceAccountName;
        spec.InitContainers.Add(Waiter(runtime));
        spec.Volumes.Add(TokenVolume());
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
                // Lets the waiter delete the migration Jobs nothing waits for any more, which under GitOps pile up
                // one a release. Set in every mode: the gate cannot tell whether the provider renders YAML, and in a
                // deployed stack the waiter keeps every Job Pulumi still holds (the current one and its predecessor).
                new EnvVarArgs { Name = "MIGRATION_JOBS_SELECTOR", Value = Labels.SelectorQuery(DatabaseMigration.Component) },
            },
            VolumeMounts =
            {
                AppRuntime.ScriptsMount(),
                new VolumeMountArgs { Name = TokenVolumeName, MountPath = TokenMountPath, ReadOnly = true },
            },
            Resources = AppRuntime.Limits(WaiterResources),
            SecurityContext = Security.Container(),
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
