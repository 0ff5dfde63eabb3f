using PieFed.Infra.Inputs;
using Pulumi;

namespace PieFed.Infra;

/// <summary>
/// Everything one PieFed instance is built from. The shape is the stack configuration's: input
/// <c>web.replicas</c> is config key <c>piefed:web.replicas</c>, so one manual serves the stack and
/// the package, and the component names a bad input exactly as the stack names a bad key.
/// </summary>
/// <remarks>
/// Inputs that decide which resources exist are plain (known before anything is registered, so
/// they are validated first); credentials are <see cref="Input{T}"/>, so they may come from another
/// resource, and the component keeps them secret whatever it is given.
/// </remarks>
public sealed class PieFedInstanceArgs : ResourceArgs
{
    /// <summary>"development" or "production"; production refuses what only a disposable stack may do.</summary>
    [Input("environment", required: true)]
    public string? Environment { get; set; }

    [Input("namespace")]
    public string? Namespace { get; set; }

    /// <summary>The instance's bare domain name; PieFed builds every federated URL from it.</summary>
    [Input("serverName", required: true)]
    public string? ServerName { get; set; }

    [Input("image", required: true)]
    public ImageArgs? Image { get; set; }

    [Input("web")]
    public WebArgs? Web { get; set; }

    [Input("worker")]
    public WorkerArgs? Worker { get; set; }

    [Input("migration")]
    public MigrationArgs? Migration { get; set; }

    [Input("notifications")]
    public NotificationsArgs? Notifications { get; set; }

    [Input("communitySearch")]
    public CommunitySearchArgs? CommunitySearch { get; set; }

    [Input("backup")]
    public BackupArgs? Backup { get; set; }

    /// <summary>A Secret you manage holding SECRET_KEY and the connection URLs, instead of the ones below.</summary>
    [Input("existingSecret")]
    public string? ExistingSecret { get; set; }

    [Input("bundledServices")]
    public BundledServicesArgs? BundledServices { get; set; }

    [Input("database")]
    public DatabaseArgs? Database { get; set; }

    [Input("databasePassword")]
    public Input<string>? DatabasePassword { get; set; }

    [Input("redis")]
    public RedisArgs? Redis { get; set; }

    [Input("redisPassword")]
    public Input<string>? RedisPassword { get; set; }

    /// <summary>Flask's SECRET_KEY, at least 32 characters; generated when unset.</summary>
    [Input("secretKey")]
    public Input<string>? SecretKey { get; set; }

    [Input("admin")]
    public AdminArgs? Admin { get; set; }

    /// <summary>The first administrator's password, at least 8 characters; generated when unset.</summary>
    [Input("adminPassword")]
    public Input<string>? AdminPassword { get; set; }

    /// <summary>More of PieFed's environment (MAIL_SERVER, ...), in a ConfigMap; nothing secret.</summary>
    [Input("env")]
    public Dictionary<string, string>? Env { get; set; }

    /// <summary>Environment variables that belong in the app's Secret (MAIL_PASSWORD, SENTRY_DSN, ...).</summary>
    [Input("secretEnv")]
    public Dictionary<string, Input<string>>? SecretEnv { get; set; }

    [Input("ingress")]
    public IngressArgs? Ingress { get; set; }

    [Input("cron")]
    public CronArgs? Cron { get; set; }

    [Input("media")]
    public MediaArgs? Media { get; set; }

    [Input("s3AccessKey")]
    public Input<string>? S3AccessKey { get; set; }

    [Input("s3AccessSecret")]
    public Input<string>? S3AccessSecret { get; set; }

    /// <summary>Pulumi refuses to delete the namespace, volumes and credentials; production's default.</summary>
    [Input("protectData")]
    public bool? ProtectData { get; set; }

    [Input("adoption")]
    public AdoptionArgs? Adoption { get; set; }

    [Input("spread")]
    public SpreadArgs? Spread { get; set; }

    [Input("networkPolicy")]
    public NetworkPolicyArgs? NetworkPolicy { get; set; }

    [Input("maintenance")]
    public MaintenanceArgs? Maintenance { get; set; }
}
