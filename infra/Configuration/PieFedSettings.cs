using System.Collections.Immutable;
using Pulumi;

namespace PieFed.Infra.Configuration;

public enum DeploymentEnvironment
{
    Development,
    Production,
}

/// <summary>An instance's inputs, validated: what the components are built from.</summary>
public sealed record PieFedSettings(
    DeploymentEnvironment Environment,
    string Namespace,
    string ServerName,
    ImageSettings Image,
    WebSettings Web,
    WorkerSettings Worker,
    MigrationSettings Migration,
    BackupSettings Backup,
    NotificationsSettings? Notifications,
    int? CommunitySearchRefreshHours,
    DataServices DataServices,
    Output<string>? SecretKey,
    ImmutableSortedDictionary<string, string> ExtraEnvironment,
    ImmutableSortedDictionary<string, Output<string>> SecretEnvironment,
    IngressSettings? Ingress,
    ImmutableArray<ScheduledTask> ScheduledTasks,
    MediaSettings Media,
    bool ProtectData,
    string? ExistingSecret,
    AdoptionSettings Adoption,
    SpreadSettings Spread,
    NetworkPolicySettings? NetworkPolicy,
    AdminSettings Admin,
    MaintenanceSettings Maintenance);

/// <summary>Whether everything that writes is stopped, and what to restore while it is.</summary>
/// <param name="Restore">Null when nothing is to be restored.</param>
public sealed record MaintenanceSettings(bool Enabled, RestoreRequest? Restore);

/// <summary>A dump to restore before this release's migration.</summary>
/// <param name="FileName">A dump's file name in the backup volume; null for the newest one this release's image can restore.</param>
public sealed record RestoreRequest(string? FileName);

/// <summary>The administrator that the first install creates (upstream's interactive <c>flask init-db</c>).</summary>
/// <param name="Password">The given password; null when the program generates one, or when it is in the operator's existing Secret.</param>
public sealed record AdminSettings(string UserName, string Email, Output<string>? Password);

public sealed record ImageSettings(string Repository, string Tag, string? Digest, string PullPolicy)
{
    /// <summary>A digest, when given, pins the bytes; the tag stays for people reading the manifest.</summary>
    public string Reference => Digest is null ? $"{Repository}:{Tag}" : $"{Repository}:{Tag}@{Digest}";
}

public sealed record ResourceSettings(string CpuRequest, string MemoryRequest, string CpuLimit, string MemoryLimit);

/// <param name="Autoscaling">Null when the replica count is fixed.</param>
public sealed record WebSettings(int Replicas, ResourceSettings Resources, int GunicornWorkers, AutoscalingSettings? Autoscaling)
{
    /// <summary>Whether more than one pod can run, and so whether a disruption budget means anything.</summary>
    public bool CanRunSeveral => (Autoscaling?.MaxReplicas ?? Replicas) > 1;
}

/// <summary>A HorizontalPodAutoscaler on CPU (and memory) utilisation of the requests.</summary>
/// <param name="MemoryUtilization">Null when memory does not drive scaling.</param>
public sealed record AutoscalingSettings(int MinReplicas, int MaxReplicas, int CpuUtilization, int? MemoryUtilization);

/// <summary>The worker's autoscaler: CPU-based, or, on a cluster running KEDA, the length of Celery's queues.</summary>
/// <param name="QueueLength">KEDA: the waiting tasks per worker pod it scales to.</param>
public sealed record WorkerAutoscalingSettings(int MinReplicas, int MaxReplicas, int CpuUtilization, bool Keda, int QueueLength, int CooldownSeconds);

/// <summary>PieFed's notifications service (uvicorn fastapi_server:app), which the app uses when NOTIF_SERVER is set.</summary>
public sealed record NotificationsSettings(int Replicas, ResourceSettings Resources);

public sealed record WorkerSettings(int Replicas, ResourceSettings Resources, int Concurrency, int TerminationGracePeriodSeconds, WorkerAutoscalingSettings? Autoscaling)
{
    public bool CanRunSeveral => (Autoscaling?.MaxReplicas ?? Replicas) > 1;
}

public sealed record MigrationSettings(TimeSpan Timeout, int BackoffLimit, ResourceSettings Resources, TimeSpan LockTimeout);

/// <summary>Dumps of the database on a volume of their own: before every migration, and on a schedule.</summary>
/// <param name="Schedule">A cron schedule, or null when scheduled backups are disabled.</param>
/// <param name="Timeout">The longest one dump may take.</param>
/// <param name="RestoreTimeout">The restore Job's deadline.</param>
public sealed record BackupSettings(bool BeforeMigration, string? Schedule, int Keep, string Size, string? StorageClass, TimeSpan Timeout, TimeSpan RestoreTimeout)
{
    /// <summary>Whether anything writes backups, and so whether the volume (and the restore Job's template) exists.</summary>
    public bool Enabled => BeforeMigration || Schedule is not null;
}

/// <summary>
/// Where PieFed's PostgreSQL and Redis are: servers the operator runs, ones this stack bundles,
/// or connection URLs kept in a Secret the operator manages.
/// </summary>
public abstract record DataServices;

public sealed record DataServicesInExistingSecret : DataServices;

public sealed record ExternalDataServices(DatabaseSettings Database, RedisSettings Redis) : DataServices;

public sealed record BundledDataServices(string PostgresImage, string RedisImage, string StorageSize, string? StorageClass) : DataServices;

/// <param name="CaSecret">The Secret holding the server's CA as <c>ca.crt</c>; null when nothing verifies the server.</param>
public sealed record DatabaseSettings(string Host, int Port, string Name, string User, Output<string> Password, string? SslMode, string? CaSecret = null);

public sealed record RedisSettings(string Host, int Port, int CacheDb, int BrokerDb, Output<string>? Password);

public sealed record IngressSettings(string? ClassName, string? TlsSecretName, ImmutableSortedDictionary<string, string> Annotations);

/// <summary>One of PieFed's periodic commands (upstream's docker.cron), run as a CronJob.</summary>
public sealed record ScheduledTask(string Name, string Schedule, ImmutableArray<string> Command);

public enum MediaStorage
{
    PersistentVolumeClaim,
    S3,
}

public sealed record MediaSettings(MediaStorage Storage, string Size, string? StorageClass, string AccessMode, S3Settings? S3);

/// <param name="AccessKey">Null when the keys are in the operator's existing Secret.</param>
public sealed record S3Settings(string Region, string? Endpoint, string Bucket, string? PublicUrl, Output<string>? AccessKey, Output<string>? AccessSecret);

/// <summary>Taking over an instance deployed with the old YAML setup.</summary>
/// <param name="LegacyNames">Use the old setup's object names where they differ (the RBAC's <c>piefed-init-checker</c>).</param>
public sealed record AdoptionSettings(bool LegacyNames);

/// <summary>How strictly the replicas of a PieFed Deployment are kept on different nodes (and zones).</summary>
public enum SpreadMode
{
    /// <summary>Preferred: the scheduler places a pod anyway when spreading is impossible.</summary>
    Soft,

    /// <summary>Required: a pod that would pile up on a node (or zone) stays Pending.</summary>
    Hard,

    Disabled,
}

/// <param name="Zones">Spread over <c>topology.kubernetes.io/zone</c> as well as over nodes.</param>
public sealed record SpreadSettings(SpreadMode Mode, bool Zones);

/// <summary>NetworkPolicies that deny every pod of the namespace all traffic but what PieFed needs.</summary>
/// <param name="IngressNamespaceSelector">The labels of the namespace the ingress controller runs in.</param>
/// <param name="ApiServerCidrs">Where the Kubernetes API server is, for the migration gate's init containers.</param>
/// <param name="MailPort">The mail server's port when <c>MAIL_SERVER</c> is in <c>piefed:env</c>, else null.</param>
public sealed record NetworkPolicySettings(
    ImmutableSortedDictionary<string, string> IngressNamespaceSelector,
    ImmutableArray<string> ApiServerCidrs,
    int? MailPort)
{
    /// <summary>
    /// Cloud metadata services, which hand out the node's credentials: all of IPv4 link-local
    /// (169.254.169.254 everywhere, and AWS's 169.254.170.2 and 169.254.170.23 credential
    /// endpoints) and AWS's IPv6 IMDS address. No egress rule ever reaches them.
    /// </summary>
    public static readonly ImmutableArray<System.Net.IPNetwork> MetadataRanges =
    [
        System.Net.IPNetwork.Parse("169.254.0.0/16"),
        System.Net.IPNetwork.Parse("fd00:ec2::254/128"),
    ];
}
