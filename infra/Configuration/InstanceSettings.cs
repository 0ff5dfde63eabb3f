using System.Collections.Immutable;
using PieFed.Infra.Components;
using PieFed.Infra.Inputs;
using Pulumi;

namespace PieFed.Infra.Configuration;

/// <summary>
/// The one place that checks an instance's inputs, whether they come from stack configuration or
/// from a program using the component. It reads every input, collects every problem, and answers
/// before a single resource is registered, so a bad value never half-deploys. One file per
/// section; the fields each section may hold are the input types' (<see cref="InputShape"/>).
/// </summary>
internal static partial class InstanceSettings
{
    /// <summary>The stack's configuration namespace, and the package's name: a key is named alike in both.</summary>
    public const string ConfigNamespace = "piefed";

    /// <summary>Tags that upstreams move; production must name a release that cannot change under it.</summary>
    public static readonly ImmutableHashSet<string> MutableTags = ImmutableHashSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "latest", "main", "master", "dev", "develop", "development", "edge", "nightly", "stable", "testing", "unstable", "head");

    /// <summary>
    /// The settings an instance is built from, or null when an input is wrong: then every problem
    /// is in <paramref name="errors"/>, each naming its key (<c>piefed:web.replicas</c>) and what it allows.
    /// </summary>
    public static PieFedSettings? Read(InstanceInputs inputs, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(errors);
        var get = inputs.Get;
        var errorsBefore = errors.Count;

        var environment = ReadEnvironment(get("environment"), errors);
        var ns = ReadScalar(get, "namespace", "piefed", IsAllowedNamespace,
            "a lowercase DNS label (letters, digits, '-', at most 63 characters) other than " + string.Join(", ", ReservedNamespaces), errors);
        var serverName = ReadServerName(get("serverName"), errors);
        var image = ReadImage(Section<ImageArgs>(get, "image", errors), environment);
        var web = ReadWeb(Section<WebArgs>(get, "web", errors));
        var worker = ReadWorker(Section<WorkerArgs>(get, "worker", errors));
        var migration = ReadMigration(Section<MigrationArgs>(get, "migration", errors));
        var notifications = ReadNotifications(Section<NotificationsArgs>(get, "notifications", errors));
        var communitySearchRefreshHours = ReadCommunitySearch(Section<CommunitySearchArgs>(get, "communitySearch", errors));
        var backup = ReadBackup(Section<BackupArgs>(get, "backup", errors), environment);
        var existingSecret = ReadScalar(get, "existingSecret", null, DnsSubdomain().IsMatch,
            "the name of a Secret in the namespace holding SECRET_KEY, DATABASE_URL, CACHE_REDIS_URL and CELERY_BROKER_URL", errors);
        var dataServices = ReadDataServices(inputs, existingSecret is not null, errors);
        var secretKey = ReadSecretKey(inputs.Secret("secretKey"), errors);
        var admin = ReadAdmin(Section<AdminArgs>(get, "admin", errors), inputs.Secret("adminPassword"), serverName, existingSecret, errors);
        var extraEnvironment = ReadExtraEnvironment(MapSection(get, "env", errors), errors);
        var secretEnvironment = ReadSecretEnvironment(MapSection(get, "secretEnv", errors, secret: true), inputs, extraEnvironment, existingSecret, errors);
        var ingress = ReadIngress(Section<IngressArgs>(get, "ingress", errors));
        var scheduledTasks = ReadScheduledTasks(Section<CronArgs>(get, "cron", errors));
        var media = ReadMedia(Section<MediaArgs>(get, "media", errors), inputs, existingSecret is not null, errors);
        var protectData = ReadBoolean(get, "protectData", environment == DeploymentEnvironment.Production, errors);
        var adoption = new AdoptionSettings(Section<AdoptionArgs>(get, "adoption", errors).Bool("legacyNames", false));
        var spread = ReadSpread(Section<SpreadArgs>(get, "spread", errors), environment);
        var networkPolicy = ReadNetworkPolicy(Section<NetworkPolicyArgs>(get, "networkPolicy", errors), environment, extraEnvironment, errors);
        var maintenance = ReadMaintenance(Section<MaintenanceArgs>(get, "maintenance", errors), backup);

        if (worker.Autoscaling is { Keda: true } && dataServices is DataServicesInExistingSecret)
        {
            errors.Add($"{ConfigNamespace}:worker.autoscaling.keda is true while {ConfigNamespace}:existingSecret is; expected the Redis settings in {ConfigNamespace}:redis (or bundled servers), which KEDA needs to read the queues.");
        }

        if (existingSecret is not null && inputs.Secret("secretKey") is not null)
        {
            errors.Add($"{ConfigNamespace}:secretKey is set while {ConfigNamespace}:existingSecret is; expected SECRET_KEY in the Secret \"{existingSecret}\" only.");
        }

        return errors.Count > errorsBefore
            ? null
            : new PieFedSettings(
                environment!.Value, ns!, serverName!, image!, web, worker, migration, backup, notifications, communitySearchRefreshHours, dataServices!, secretKey, extraEnvironment,
                secretEnvironment, ingress, scheduledTasks, media!, protectData, existingSecret, adoption, spread, networkPolicy, admin!, maintenance);
    }

    /// <summary>The settings of a component's inputs; throws, naming every problem, before anything is registered.</summary>
    public static PieFedSettings Validate(PieFedInstanceArgs args, string componentName)
    {
        var errors = new List<string>();
        return Read(InstanceInputs.FromArgs(args), errors)
            ?? throw new InvalidConfigException($"PieFedInstance \"{componentName}\" has {errors.Count} invalid input(s); nothing was registered", errors);
    }

    private static ConfigSection Section<TArgs>(Func<string, string?> get, string key, List<string> errors)
        where TArgs : ResourceArgs
        => ConfigSection.Parse($"{ConfigNamespace}:{key}", get(key), InputShape.Names<TArgs>(), errors);

    /// <summary>A section of free names, such as environment variables or annotations.</summary>
    private static ConfigSection MapSection(Func<string, string?> get, string key, List<string> errors, bool secret = false)
        => ConfigSection.Parse($"{ConfigNamespace}:{key}", get(key), [], errors, secret);

    private static string? ReadScalar(Func<string, string?> get, string key, string? defaultValue, Func<string, bool> isAllowed, string allowed, List<string> errors)
    {
        var value = get(key);
        if (value is null)
        {
            return defaultValue;
        }

        if (!isAllowed(value))
        {
            errors.Add($"{ConfigNamespace}:{key}: \"{value}\" is not allowed; expected {allowed}.");
            return null;
        }

        return value;
    }

    private static DeploymentEnvironment? ReadEnvironment(string? value, List<string> errors)
    {
        const string allowed = "\"development\" or \"production\" (production refuses mutable image tags)";
        switch (value)
        {
            case "development":
                return DeploymentEnvironment.Development;
            case "production":
                return DeploymentEnvironment.Production;
            case null:
                errors.Add($"{ConfigNamespace}:environment is required; expected {allowed}.");
                return null;
            default:
                errors.Add($"{ConfigNamespace}:environment: \"{value}\" is not allowed; expected {allowed}.");
                return null;
        }
    }

    private static string? ReadServerName(string? value, List<string> errors)
    {
        const string key = ConfigNamespace + ":serverName";
        const string allowed = "the instance's bare domain name in lowercase, e.g. \"piefed.example.org\" (PieFed builds every federated URL from it, so it cannot change later)";
        if (value is null)
        {
            errors.Add($"{key} is required; expected {allowed}.");
            return null;
        }

        var problem = value switch
        {
            _ when value.Contains("://", StringComparison.Ordinal) => "has a scheme",
            _ when value.Contains('/', StringComparison.Ordinal) => "has a path",
            _ when value.Contains(':', StringComparison.Ordinal) => "has a port",
            _ when !DomainName().IsMatch(value) => "is not a domain name",
            _ => null,
        };
        if (problem is not null)
        {
            errors.Add($"{key}: \"{value}\" {problem}; expected {allowed}.");
            return null;
        }

        return value;
    }

    private static ImageSettings? ReadImage(ConfigSection section, DeploymentEnvironment? environment)
    {
        var repository = section.String("repository", PieFedImage.DefaultRepository, ImageRepository().IsMatch,
            "an image repository without tag or digest, e.g. \"codeberg.org/rimu/pyfedi\"");
        var tag = section.RequiredString("tag", ImageTag().IsMatch, "an image tag such as \"v1.7.7\"");
        var digest = section.String("digest", null, ImageDigest().IsMatch, "\"sha256:\" followed by 64 lowercase hex digits");
        var pullPolicy = section.String("pullPolicy", "IfNotPresent", PullPolicies.Contains, OneOf(PullPolicies));

        if (tag is not null && environment == DeploymentEnvironment.Production && digest is null && MutableTags.Contains(tag))
        {
            section.Error("tag", $"\"{tag}\" is a mutable tag, which production refuses: a restarted pod could run code the migration never saw; expected a release tag such as \"v1.7.7\", or set {section.Path}.digest as well.");
            return null;
        }

        return repository is null || tag is null || pullPolicy is null
            ? null
            : new ImageSettings(repository, tag, digest, pullPolicy);
    }

    private static bool ReadBoolean(Func<string, string?> get, string key, bool defaultValue, List<string> errors)
    {
        switch (get(key))
        {
            case null:
                return defaultValue;
            case "true":
                return true;
            case "false":
                return false;
            case var other:
                errors.Add($"{ConfigNamespace}:{key}: \"{other}\" is not allowed; expected true or false.");
                return defaultValue;
        }
    }

    private static MaintenanceSettings ReadMaintenance(ConfigSection section, BackupSettings backup)
    {
        var enabled = section.Bool("enabled", false);
        var restore = section.String("restore", null, v => v == NewestDump || DumpFileName().IsMatch(v),
            $"\"{NewestDump}\" (the newest dump this release's image can restore) or a dump's file name in the backup volume, such as \"piefed-20261201T033000Z-at-1a2b3c4d5e6f.dump\"");
        if (restore is null)
        {
            return new MaintenanceSettings(enabled, null);
        }

        if (!enabled)
        {
            section.Error("restore", $"is set while {section.Path}.enabled is false; expected {section.Path}.enabled: true, applied by a `pulumi up` of its own first, so that nothing writes to the database while it is restored.");
        }
        else if (!backup.Enabled)
        {
            section.Error("restore", $"is set while backups are disabled ({ConfigNamespace}:backup.beforeMigration false and {ConfigNamespace}:backup.schedule \"disabled\"), so there is no backup volume to restore from; expected no restore, or backups enabled.");
        }

        return new MaintenanceSettings(enabled, new RestoreRequest(restore == NewestDump ? null : restore));
    }

    private static bool IsAllowedNamespace(string value)
        => DnsLabel().IsMatch(value) && !ReservedNamespaces.Contains(value);

    private const string NewestDump = "newest";
    private static readonly string[] PullPolicies = ["IfNotPresent", "Always", "Never"];
    private static readonly string[] ReservedNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];
}
