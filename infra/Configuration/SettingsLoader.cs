using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using Pulumi;

namespace PieFed.Infra.Configuration;

/// <summary>
/// The one place that reads stack configuration. It reads every key, collects every problem, and
/// throws before the program registers a single resource, so a bad value never half-deploys.
/// </summary>
public static partial class SettingsLoader
{
    public const string ConfigNamespace = "piefed";
    public const string DefaultImageRepository = "codeberg.org/rimu/pyfedi";

    /// <summary>Tags that upstreams move; production must name a release that cannot change under it.</summary>
    public static readonly ImmutableHashSet<string> MutableTags = ImmutableHashSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "latest", "main", "master", "dev", "develop", "development", "edge", "nightly", "stable", "testing", "unstable", "head");

    /// <summary>Environment variables the program sets itself; an override in <c>piefed:env</c> would break it.</summary>
    public static readonly ImmutableHashSet<string> ReservedEnvironmentVariables = ImmutableHashSet.Create(
        StringComparer.Ordinal,
        "SERVER_NAME", "SECRET_KEY", "DATABASE_URL", "CACHE_TYPE", "CACHE_REDIS_URL", "CELERY_BROKER_URL",
        "FLASK_APP", "PIEFED_INIT_CONTAINER", "CRON", "NOTIF_SERVER",
        "S3_REGION", "S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY", "S3_ACCESS_SECRET", "S3_PUBLIC_URL");

    private static readonly string[] ImageFields = ["repository", "tag", "digest", "pullPolicy"];
    private static readonly string[] WebFields = ["replicas", "resources", "gunicornWorkers", "autoscaling"];
    private static readonly string[] WorkerFields = ["replicas", "resources", "concurrency", "terminationGracePeriodSeconds", "autoscaling"];
    private static readonly string[] WebAutoscalingFields = ["enabled", "minReplicas", "maxReplicas", "cpuUtilization", "memoryUtilization"];
    private static readonly string[] WorkerAutoscalingFields = ["enabled", "minReplicas", "maxReplicas", "cpuUtilization", "keda", "queueLength", "cooldownSeconds"];
    private static readonly string[] NotificationsFields = ["enabled", "replicas", "resources"];
    private static readonly string[] CommunitySearchFields = ["refreshHours"];
    private static readonly string[] BundledFields = ["enabled", "postgresImage", "redisImage", "storageSize", "storageClass"];
    private static readonly string[] IngressFields = ["enabled", "className", "tlsSecretName", "annotations"];
    private static readonly string[] MediaFields = ["storage", "size", "storageClass", "accessMode", "singleNode", "s3"];
    private static readonly string[] S3Fields = ["region", "endpoint", "bucket", "publicUrl"];
    private static readonly string[] RenderFields = ["directory", "allowPlaintextSecrets"];
    private static readonly string[] AdoptionFields = ["legacyNames", "upsertExistingObjects"];
    private static readonly string[] SpreadFields = ["mode", "zones"];
    private static readonly string[] SpreadModes = ["soft", "hard", "disabled"];
    private static readonly string[] NetworkPolicyFields = ["enabled", "ingressNamespaceSelector", "apiServerCidrs"];

    /// <summary>ingress-nginx's namespace, by the label Kubernetes puts on every namespace.</summary>
    private static readonly ImmutableSortedDictionary<string, string> DefaultIngressNamespaceSelector =
        ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal).Add("kubernetes.io/metadata.name", "ingress-nginx");

    /// <summary>Anywhere but the metadata ranges, until the operator narrows it to the API server's endpoints.</summary>
    private static readonly ImmutableArray<string> DefaultApiServerCidrs = ["0.0.0.0/0"];

    /// <summary>
    /// SMTP's port, which PieFed uses when MAIL_SERVER is set without MAIL_PORT
    /// (config.py at v1.7.7: <c>MAIL_PORT = int(os.environ.get('MAIL_PORT') or 25)</c>).
    /// </summary>
    private const int DefaultMailPort = 25;
    private static readonly string[] ExternalDataServiceKeys = ["database", "redis", "databasePassword", "redisPassword"];
    private static readonly string[] AccessModes = ["ReadWriteMany", "ReadWriteOnce"];
    private static readonly string[] MediaStorages = ["pvc", "s3"];

    /// <summary>Upstream's docker.cron, one CronJob each; a schedule of "disabled" leaves one out.</summary>
    private static readonly (string Key, string Name, string Schedule, string[] Command)[] UpstreamSchedule =
    [
        ("dailyMaintenance", "daily-maintenance", "5 2 * * *", ["flask", "daily-maintenance"]),
        ("sendQueue", "send-queue", "* * * * *", ["flask", "send-queue"]),
        ("sendMissedNotifications", "send-missed-notifs", "*/30 * * * *", ["flask", "send_missed_notifs"]),
        ("processEmailBounces", "process-email-bounces", "*/30 * * * *", ["flask", "process_email_bounces"]),
        ("cleanUpOldActivities", "clean-up-old-activities", "*/30 * * * *", ["flask", "clean_up_old_activities"]),
        ("removeOrphanFiles", "remove-orphan-files", "5 4 * * 1", ["flask", "remove_orphan_files"]),
    ];
    private static readonly string[] ResourcesFields = ["requests", "limits"];
    private static readonly string[] QuantityFields = ["cpu", "memory"];
    private static readonly string[] MigrationFields = ["timeoutMinutes", "backoffLimit", "resources"];
    private static readonly string[] BackupFields = ["beforeMigration", "schedule", "keep", "size", "storageClass"];
    private const string DefaultBackupSchedule = "30 3 * * *";
    private static readonly string[] DatabaseFields = ["host", "port", "name", "user", "sslMode"];
    private static readonly string[] RedisFields = ["host", "port", "cacheDb", "brokerDb"];
    private static readonly string[] PullPolicies = ["IfNotPresent", "Always", "Never"];
    private static readonly string[] SslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
    private static readonly string[] ReservedNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

    private static readonly ResourceSettings DefaultWebResources = new("250m", "512Mi", "2", "1Gi");
    private static readonly ResourceSettings DefaultWorkerResources = new("250m", "512Mi", "2", "1Gi");

    /// <summary>uvicorn with fastapi_server.py alone: Redis pub/sub and open streams, none of the Flask app.</summary>
    private static readonly ResourceSettings DefaultNotificationsResources = new("50m", "128Mi", "1", "512Mi");

    /// <summary>
    /// `flask db upgrade` and `init-db` boot the whole app once (a web worker's ~350 MiB, measured with
    /// PieFed v1.7.7); pg_dump and pg_restore stream and need little. Its own setting, so that
    /// resizing the workers never replaces the Job and re-runs a migration.
    /// </summary>
    private static readonly ResourceSettings DefaultMigrationResources = new("100m", "512Mi", "1", "1Gi");

    /// <summary>The Kubernetes provider's own configuration namespace, which Pulumi users set the cluster in.</summary>
    public const string KubernetesConfigNamespace = "kubernetes";

    /// <summary>Reads the stack's configuration from Pulumi: secret keys through its secret API.</summary>
    public static PieFedSettings Load()
    {
        var config = new Config(ConfigNamespace);
        var kubernetes = new Config(KubernetesConfigNamespace);
        return Load(config.Get, key => Reveal(config.GetSecret(key)), key => key == "kubeconfig" ? Reveal(kubernetes.GetSecret(key)) : kubernetes.Get(key));
    }

    /// <param name="get">The raw value of <c>piefed:&lt;key&gt;</c>, or null when the key is unset.</param>
    /// <param name="getSecret">The same for the keys that hold secrets; by default <paramref name="get"/>.</param>
    /// <param name="getKubernetes">The raw value of <c>kubernetes:&lt;key&gt;</c>; by default every key is unset.</param>
    public static PieFedSettings Load(Func<string, string?> get, Func<string, string?>? getSecret = null, Func<string, string?>? getKubernetes = null)
    {
        ArgumentNullException.ThrowIfNull(get);
        getSecret ??= get;
        getKubernetes ??= _ => null;
        var errors = new List<string>();

        var environment = ReadEnvironment(get("environment"), errors);
        var ns = ReadScalar(get, "namespace", "piefed", IsAllowedNamespace,
            "a lowercase DNS label (letters, digits, '-', at most 63 characters) other than " + string.Join(", ", ReservedNamespaces), errors);
        var serverName = ReadServerName(get("serverName"), errors);
        var image = ReadImage(Section(get, "image", ImageFields, errors), environment);
        var web = ReadWeb(Section(get, "web", WebFields, errors));
        var worker = ReadWorker(Section(get, "worker", WorkerFields, errors));
        var migration = ReadMigration(Section(get, "migration", MigrationFields, errors));
        var notifications = ReadNotifications(Section(get, "notifications", NotificationsFields, errors));
        var communitySearchRefreshHours = ReadCommunitySearch(Section(get, "communitySearch", CommunitySearchFields, errors));
        var backup = ReadBackup(Section(get, "backup", BackupFields, errors), environment);
        var existingSecret = ReadScalar(get, "existingSecret", null, DnsSubdomain().IsMatch,
            "the name of a Secret in the namespace holding SECRET_KEY, DATABASE_URL, CACHE_REDIS_URL and CELERY_BROKER_URL", errors);
        var dataServices = ReadDataServices(get, getSecret, existingSecret is not null, errors);
        var secretKey = ReadSecretKey(getSecret("secretKey"), errors);
        var extraEnvironment = ReadExtraEnvironment(Section(get, "env", [], errors), errors);
        var secretEnvironment = ReadSecretEnvironment(Section(getSecret, "secretEnv", [], errors), extraEnvironment, existingSecret, errors);
        var ingress = ReadIngress(Section(get, "ingress", IngressFields, errors));
        var scheduledTasks = ReadScheduledTasks(Section(get, "cron", [.. UpstreamSchedule.Select(t => t.Key)], errors));
        var media = ReadMedia(Section(get, "media", MediaFields, errors), getSecret, existingSecret is not null, errors);
        var protectData = ReadBoolean(get, "protectData", environment == DeploymentEnvironment.Production, errors);
        var render = ReadRender(Section(get, "render", RenderFields, errors));
        var cluster = ReadCluster(getKubernetes, environment, render, errors);
        var adoptionSection = Section(get, "adoption", AdoptionFields, errors);
        var adoption = new AdoptionSettings(adoptionSection.Bool("legacyNames", false), adoptionSection.Bool("upsertExistingObjects", false));
        var spread = ReadSpread(Section(get, "spread", SpreadFields, errors), environment);
        var networkPolicy = ReadNetworkPolicy(Section(get, "networkPolicy", NetworkPolicyFields, errors), environment, extraEnvironment, errors);

        if (worker.Autoscaling is { Keda: true } && dataServices is DataServicesInExistingSecret)
        {
            errors.Add($"{ConfigNamespace}:worker.autoscaling.keda is true while {ConfigNamespace}:existingSecret is; expected the Redis settings in {ConfigNamespace}:redis (or bundled servers), which KEDA needs to read the queues.");
        }

        if (existingSecret is not null && getSecret("secretKey") is not null)
        {
            errors.Add($"{ConfigNamespace}:secretKey is set while {ConfigNamespace}:existingSecret is; expected SECRET_KEY in the Secret \"{existingSecret}\" only.");
        }

        if (render is { AllowPlaintextSecrets: false } && (existingSecret is null || dataServices is BundledDataServices))
        {
            errors.Add($"{ConfigNamespace}:render.directory: rendering to \"{render.Directory}\" would write the app's secrets"
                + (dataServices is BundledDataServices ? " and the bundled servers' generated passwords" : "")
                + " into the YAML in plaintext; expected piefed:existingSecret naming a Secret you manage (SOPS, sealed-secrets, external-secrets)"
                + (dataServices is BundledDataServices ? " with piefed:bundledServices.enabled false" : "")
                + $", or {ConfigNamespace}:render.allowPlaintextSecrets: true.");
        }

        if (errors.Count > 0)
        {
            throw new InvalidConfigException(errors);
        }

        return new PieFedSettings(
            environment!.Value, ns!, serverName!, image!, web, worker, migration, backup, notifications, communitySearchRefreshHours, dataServices!, secretKey, extraEnvironment,
            secretEnvironment, ingress, scheduledTasks, media!, protectData, render, existingSecret, adoption, cluster, spread, networkPolicy);
    }

    private static ConfigSection Section(Func<string, string?> get, string key, IReadOnlyCollection<string> fields, List<string> errors)
        => ConfigSection.Parse($"{ConfigNamespace}:{key}", get(key), fields, errors);

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
        var repository = section.String("repository", DefaultImageRepository, ImageRepository().IsMatch,
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

    private static WebSettings ReadWeb(ConfigSection section)
    {
        // Every field is read, and so checked, whether the autoscaler is on or not.
        var autoscaling = section.Section("autoscaling", WebAutoscalingFields);
        var (minReplicas, maxReplicas) = ReadReplicaRange(autoscaling);
        var cpu = autoscaling.Int("cpuUtilization", 70, 10, 100);
        int? memory = autoscaling.Has("memoryUtilization") ? autoscaling.Int("memoryUtilization", 80, 10, 100) : null;
        return new(
            section.Int("replicas", 1, 0, 100),
            ReadResources(section, DefaultWebResources),
            // gunicorn.conf.py would count the node's CPUs, not the pod's limit.
            section.Int("gunicornWorkers", 4, 1, 32),
            autoscaling.Bool("enabled", false) ? new AutoscalingSettings(minReplicas, maxReplicas, cpu, memory) : null);
    }

    private static WorkerSettings ReadWorker(ConfigSection section)
    {
        var autoscaling = section.Section("autoscaling", WorkerAutoscalingFields);
        var (minReplicas, maxReplicas) = ReadReplicaRange(autoscaling);
        var scaling = new WorkerAutoscalingSettings(minReplicas, maxReplicas, autoscaling.Int("cpuUtilization", 70, 10, 100), autoscaling.Bool("keda", false),
            autoscaling.Int("queueLength", 50, 1, 100000), autoscaling.Int("cooldownSeconds", 300, 30, 86400));
        return new(
            section.Int("replicas", 1, 0, 100),
            ReadResources(section, DefaultWorkerResources),
            section.Int("concurrency", 4, 1, 64),
            section.Int("terminationGracePeriodSeconds", 300, 30, 3600),
            autoscaling.Bool("enabled", false) ? scaling : null);
    }

    private static (int Min, int Max) ReadReplicaRange(ConfigSection autoscaling)
    {
        var minReplicas = autoscaling.Int("minReplicas", 2, 1, 100);
        var maxReplicas = autoscaling.Int("maxReplicas", 10, 1, 100);
        if (maxReplicas < minReplicas)
        {
            autoscaling.Error("maxReplicas", $"\"{maxReplicas}\" is less than minReplicas \"{minReplicas}\"; expected at least {autoscaling.Path}.minReplicas.");
        }

        return (minReplicas, maxReplicas);
    }

    private static NotificationsSettings? ReadNotifications(ConfigSection section)
    {
        var notifications = new NotificationsSettings(section.Int("replicas", 1, 1, 20), ReadResources(section, DefaultNotificationsResources));
        return section.Bool("enabled", true) ? notifications : null;
    }

    private static int? ReadCommunitySearch(ConfigSection section)
    {
        var refresh = section.String("refreshHours", "24", v => v == "disabled" || (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var hours) && hours is >= 1 and <= 168),
            "a whole number of hours from 1 to 168, or \"disabled\"");
        return refresh is null or "disabled" ? null : int.Parse(refresh, CultureInfo.InvariantCulture);
    }

    private static ResourceSettings ReadResources(ConfigSection workload, ResourceSettings defaults)
    {
        var resources = workload.Section("resources", ResourcesFields);
        var requests = resources.Section("requests", QuantityFields);
        var limits = resources.Section("limits", QuantityFields);

        var cpuRequest = requests.String("cpu", defaults.CpuRequest, IsCpuQuantity, CpuAllowed)!;
        var memoryRequest = requests.String("memory", defaults.MemoryRequest, IsMemoryQuantity, MemoryAllowed)!;
        var cpuLimit = limits.String("cpu", defaults.CpuLimit, IsCpuQuantity, CpuAllowed)!;
        var memoryLimit = limits.String("memory", defaults.MemoryLimit, IsMemoryQuantity, MemoryAllowed)!;

        if (IsCpuQuantity(cpuRequest) && IsCpuQuantity(cpuLimit) && ParseQuantity(cpuRequest) > ParseQuantity(cpuLimit))
        {
            requests.Error("cpu", $"\"{cpuRequest}\" is more than the limit \"{cpuLimit}\"; expected a request no larger than {limits.Path}.cpu.");
        }

        if (IsMemoryQuantity(memoryRequest) && IsMemoryQuantity(memoryLimit) && ParseQuantity(memoryRequest) > ParseQuantity(memoryLimit))
        {
            requests.Error("memory", $"\"{memoryRequest}\" is more than the limit \"{memoryLimit}\"; expected a request no larger than {limits.Path}.memory.");
        }

        return new ResourceSettings(cpuRequest, memoryRequest, cpuLimit, memoryLimit);
    }

    private static MigrationSettings ReadMigration(ConfigSection section)
        => new(
            TimeSpan.FromMinutes(section.Int("timeoutMinutes", 10, 1, 120)),
            section.Int("backoffLimit", 3, 0, 20),
            ReadResources(section, DefaultMigrationResources));

    private static BackupSettings ReadBackup(ConfigSection section, DeploymentEnvironment? environment)
    {
        var schedule = section.String("schedule", DefaultBackupSchedule, v => v == "disabled" || CronSchedule().IsMatch(v),
            "a cron schedule of five fields such as \"30 3 * * *\", or \"disabled\"");
        return new BackupSettings(
            // A development database is disposable; production's is the instance.
            section.Bool("beforeMigration", environment == DeploymentEnvironment.Production),
            schedule is "disabled" ? null : schedule,
            section.Int("keep", 7, 1, 365),
            section.String("size", "10Gi", IsMemoryQuantity, "a storage quantity such as \"20Gi\" (room for keep dumps)")!,
            section.String("storageClass", null, DnsSubdomain().IsMatch, StorageClassAllowed));
    }

    private static DataServices? ReadDataServices(Func<string, string?> get, Func<string, string?> getSecret, bool inExistingSecret, List<string> errors)
    {
        var bundled = Section(get, "bundledServices", BundledFields, errors);
        var isBundled = bundled.Bool("enabled", false);
        bool IsSet(string key) => (key.EndsWith("Password", StringComparison.Ordinal) ? getSecret : get)(key) is not null;
        if (inExistingSecret)
        {
            foreach (var key in ExternalDataServiceKeys.Where(IsSet))
            {
                errors.Add($"{ConfigNamespace}:{key} is set while {ConfigNamespace}:existingSecret is; expected the connection URLs in that Secret only.");
            }

            if (isBundled)
            {
                bundled.Error("enabled", $"is true while {ConfigNamespace}:existingSecret is set; expected false: the bundled servers' generated passwords cannot be in a Secret you made beforehand.");
            }

            return new DataServicesInExistingSecret();
        }

        if (!isBundled)
        {
            var database = ReadDatabase(Section(get, "database", DatabaseFields, errors), getSecret("databasePassword"), errors);
            var redis = ReadRedis(Section(get, "redis", RedisFields, errors), getSecret("redisPassword"), errors);
            return database is null || redis is null ? null : new ExternalDataServices(database, redis);
        }

        foreach (var key in ExternalDataServiceKeys.Where(IsSet))
        {
            errors.Add($"{ConfigNamespace}:{key} is set while {bundled.Path}.enabled is true; expected either bundled servers or external ones: remove one of the two.");
        }

        var postgresImage = bundled.String("postgresImage", "docker.io/library/postgres:17.2-alpine", ImageWithTag().IsMatch, ImageWithTagAllowed)!;
        var redisImage = bundled.String("redisImage", "docker.io/library/redis:7.4.2-alpine", ImageWithTag().IsMatch, ImageWithTagAllowed)!;
        var storageSize = bundled.String("storageSize", "5Gi", IsMemoryQuantity, "a storage quantity such as \"5Gi\"")!;
        var storageClass = bundled.String("storageClass", null, DnsSubdomain().IsMatch, StorageClassAllowed);
        return new BundledDataServices(postgresImage, redisImage, storageSize, storageClass);
    }

    private static DatabaseSettings? ReadDatabase(ConfigSection section, string? password, List<string> errors)
    {
        var host = section.RequiredString("host", HostName().IsMatch, "a host name or IPv4 address of the PostgreSQL server");
        var port = section.Int("port", 5432, 1, 65535);
        var name = section.String("name", "piefed", PostgresIdentifier().IsMatch, PostgresIdentifierAllowed);
        var user = section.String("user", "piefed", PostgresIdentifier().IsMatch, PostgresIdentifierAllowed);
        var sslMode = section.String("sslMode", null, SslModes.Contains, OneOf(SslModes));

        if (string.IsNullOrEmpty(password))
        {
            errors.Add($"{ConfigNamespace}:databasePassword is required; expected the PostgreSQL user's password, set with `pulumi config set --secret {ConfigNamespace}:databasePassword`.");
            return null;
        }

        return host is null || name is null || user is null
            ? null
            : new DatabaseSettings(host, port, name, user, Output.CreateSecret(password), sslMode);
    }

    private static RedisSettings? ReadRedis(ConfigSection section, string? password, List<string> errors)
    {
        var host = section.RequiredString("host", HostName().IsMatch, "a host name or IPv4 address of the Redis server");
        var port = section.Int("port", 6379, 1, 65535);
        var cacheDb = section.Int("cacheDb", 1, 0, 15);
        var brokerDb = section.Int("brokerDb", 0, 0, 15);

        if (cacheDb == brokerDb)
        {
            section.Error("brokerDb", $"\"{brokerDb}\" is also the cache database; expected a Redis database other than {section.Path}.cacheDb, so that flushing the cache never drops queued tasks.");
        }

        if (password is { Length: 0 })
        {
            errors.Add($"{ConfigNamespace}:redisPassword: an empty password is not allowed; expected the Redis password, or leave the key unset when Redis has none.");
        }

        return host is null ? null : new RedisSettings(host, port, cacheDb, brokerDb, password is null ? null : Output.CreateSecret(password));
    }

    private static Output<string>? ReadSecretKey(string? value, List<string> errors)
    {
        const int minimumLength = 32;
        if (value is null)
        {
            return null;
        }

        if (value.Length < minimumLength)
        {
            errors.Add($"{ConfigNamespace}:secretKey: a value of {value.Length} characters is too short to sign sessions; expected at least {minimumLength} characters, or leave it unset and the program generates one.");
            return null;
        }

        return Output.CreateSecret(value);
    }

    private static ImmutableSortedDictionary<string, string> ReadExtraEnvironment(ConfigSection section, List<string> errors)
    {
        var result = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in section.StringMap())
        {
            if (!EnvironmentVariableName().IsMatch(name))
            {
                errors.Add($"{section.Path}.{name} is not a valid environment variable name; expected upper-case letters, digits and '_', not starting with a digit.");
            }
            else if (ReservedEnvironmentVariables.Contains(name))
            {
                errors.Add($"{section.Path}.{name} is set by the program itself; expected none of {string.Join(", ", ReservedEnvironmentVariables.Order(StringComparer.Ordinal))} (use the dedicated settings instead).");
            }
            else if (SecretVariableName().IsMatch(name))
            {
                errors.Add($"{section.Path}.{name} looks like a secret, and {section.Path} lands in a ConfigMap that anyone who may read ConfigMaps can read;"
                    + $" expected it in {ConfigNamespace}:secretEnv instead: `pulumi config set --secret --path '{ConfigNamespace}:secretEnv.{name}' <value>`.");
            }
            else
            {
                result[name] = value;
            }
        }

        return result.ToImmutable();
    }

    /// <summary>Environment variables that go into the app's Secret, never a ConfigMap (mail password, Sentry DSN, ...).</summary>
    private static ImmutableSortedDictionary<string, Output<string>> ReadSecretEnvironment(
        ConfigSection section, ImmutableSortedDictionary<string, string> plain, string? existingSecret, List<string> errors)
    {
        var result = ImmutableSortedDictionary.CreateBuilder<string, Output<string>>(StringComparer.Ordinal);
        foreach (var (name, value) in section.StringMap())
        {
            if (!EnvironmentVariableName().IsMatch(name))
            {
                errors.Add($"{section.Path}.{name} is not a valid environment variable name; expected upper-case letters, digits and '_', not starting with a digit.");
            }
            else if (ReservedEnvironmentVariables.Contains(name))
            {
                errors.Add($"{section.Path}.{name} is set by the program itself; expected none of {string.Join(", ", ReservedEnvironmentVariables.Order(StringComparer.Ordinal))}.");
            }
            else if (plain.ContainsKey(name))
            {
                errors.Add($"{section.Path}.{name} is also set in {ConfigNamespace}:env; expected it in one of the two.");
            }
            else if (existingSecret is not null)
            {
                errors.Add($"{section.Path}.{name} is set while {ConfigNamespace}:existingSecret is; expected {name} in the Secret \"{existingSecret}\" that you manage.");
            }
            else
            {
                result[name] = Output.CreateSecret(value);
            }
        }

        return result.ToImmutable();
    }

    /// <summary>
    /// The cluster the stack deploys to. An explicit Kubernetes provider reads neither
    /// <c>kubernetes:context</c> nor <c>kubernetes:kubeconfig</c> by itself (only the default provider
    /// does), so the program passes them on; production refuses to rely on whatever context the
    /// shell happens to point at.
    /// </summary>
    private static ClusterSettings ReadCluster(Func<string, string?> getKubernetes, DeploymentEnvironment? environment, RenderSettings? render, List<string> errors)
    {
        var context = getKubernetes("context");
        var kubeconfig = getKubernetes("kubeconfig");
        if (context is { Length: 0 } || (context is not null && string.IsNullOrWhiteSpace(context)))
        {
            errors.Add($"{KubernetesConfigNamespace}:context: an empty context is not allowed; expected the name of a context in your kubeconfig.");
            context = null;
        }
        else if (context is null && environment == DeploymentEnvironment.Production && render is null)
        {
            errors.Add($"{KubernetesConfigNamespace}:context is required in production; expected the name of the production cluster's context in your kubeconfig"
                + $" (`pulumi config set {KubernetesConfigNamespace}:context <name>`), so that `pulumi up` never deploys production to whatever cluster the current context points at.");
        }

        return new ClusterSettings(context, string.IsNullOrWhiteSpace(kubeconfig) ? null : Output.CreateSecret(kubeconfig));
    }

    /// <summary>Config values are known when the program starts; the settings keep them as Pulumi secrets.</summary>
    private static string? Reveal(Output<string>? secret)
        => secret is null ? null : Pulumi.Utilities.OutputUtilities.GetValueAsync(secret).GetAwaiter().GetResult();

    private static RenderSettings? ReadRender(ConfigSection section)
    {
        var directory = section.String("directory", null, IsRelativeDirectory, "a relative directory without \"..\", e.g. \"rendered\" (the provider resolves it from the program's folder, infra/)");
        var allowPlaintextSecrets = section.Bool("allowPlaintextSecrets", false);
        return directory is null ? null : new RenderSettings(directory, allowPlaintextSecrets);
    }

    private static bool IsRelativeDirectory(string value)
        => !string.IsNullOrWhiteSpace(value) && !Path.IsPathRooted(value) && !value.Split('/', '\\').Contains("..");

    private static SpreadSettings ReadSpread(ConfigSection section, DeploymentEnvironment? environment)
    {
        var mode = section.String("mode", "soft", SpreadModes.Contains,
            OneOf(SpreadModes) + " (soft prefers other nodes and zones, hard leaves a pod Pending rather than stack it, disabled lets the scheduler choose)");
        return new SpreadSettings(
            mode switch
            {
                "hard" => SpreadMode.Hard,
                "disabled" => SpreadMode.Disabled,
                _ => SpreadMode.Soft,
            },
            // A pod that spreads by zone is scored on labelled nodes only: on a cluster without zone
            // labels (local clusters, most bare metal) it would not spread at all. Production
            // clusters in a cloud carry them; development ones mostly do not.
            section.Bool("zones", environment == DeploymentEnvironment.Production));
    }

    /// <summary>
    /// Isolation is production's default; a development stack is disposable, and not every local
    /// cluster's network plugin enforces NetworkPolicies at all.
    /// </summary>
    private static NetworkPolicySettings? ReadNetworkPolicy(
        ConfigSection section, DeploymentEnvironment? environment, ImmutableSortedDictionary<string, string> appEnvironment, List<string> errors)
    {
        var enabled = section.Bool("enabled", environment == DeploymentEnvironment.Production);
        var selector = ReadNamespaceSelector(section);
        var apiServerCidrs = section.StringList("apiServerCidrs", DefaultApiServerCidrs, IsPermittedCidr,
            "a CIDR in canonical form (host bits zero), such as \"10.0.0.1/32\" or \"172.20.0.0/16\", not inside the cloud metadata ranges "
            + string.Join(" and ", NetworkPolicySettings.MetadataRanges),
            "an empty list leaves the migration gate's init containers no way to the Kubernetes API, so every pod would wait in Init;"
            + " expected the API server's endpoints (`kubectl get endpoints kubernetes -n default`) as CIDRs, e.g. [\"10.0.0.1/32\"].");

        var mailPort = ReadMailPort(appEnvironment, errors);
        return enabled ? new NetworkPolicySettings(selector, apiServerCidrs, mailPort) : null;
    }

    private static ImmutableSortedDictionary<string, string> ReadNamespaceSelector(ConfigSection networkPolicy)
    {
        const string field = "ingressNamespaceSelector";
        if (!networkPolicy.Has(field))
        {
            return DefaultIngressNamespaceSelector;
        }

        var section = networkPolicy.Section(field, []);
        var labels = section.StringMap();
        if (section.IsEmptyObject)
        {
            networkPolicy.Error(field, "an empty selector would let every namespace reach the web pods; expected the labels of the ingress controller's namespace,"
                + " e.g. {\"kubernetes.io/metadata.name\": \"ingress-nginx\"}.");
        }

        foreach (var (key, value) in labels)
        {
            if (!IsLabelKey(key))
            {
                section.Error(key, "is not a label key; expected an optional DNS subdomain and '/' followed by a name of at most 63 letters, digits, '-', '_' or '.',"
                    + " beginning and ending with a letter or digit, e.g. \"kubernetes.io/metadata.name\".");
            }
            else if (!LabelValue().IsMatch(value))
            {
                section.Error(key, $"\"{value}\" is not a label value; expected at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit, or empty.");
            }
        }

        return labels.ToImmutableSortedDictionary(StringComparer.Ordinal);
    }

    private static int? ReadMailPort(ImmutableSortedDictionary<string, string> appEnvironment, List<string> errors)
    {
        var port = DefaultMailPort;
        if (appEnvironment.TryGetValue("MAIL_PORT", out var text)
            && !(int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535))
        {
            errors.Add($"{ConfigNamespace}:env.MAIL_PORT: \"{text}\" is not allowed; expected the mail server's port, a whole number from 1 to 65535.");
            return null;
        }

        return appEnvironment.ContainsKey("MAIL_SERVER") ? port : null;
    }

    private static bool IsLabelKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0
            ? LabelName().IsMatch(key)
            : DnsSubdomain().IsMatch(key[..slash]) && LabelName().IsMatch(key[(slash + 1)..]);
    }

    /// <summary>A CIDR exactly as Kubernetes will show it, that no rule could reach a metadata service through.</summary>
    private static bool IsPermittedCidr(string value)
        => System.Net.IPNetwork.TryParse(value, out var network)
            && network.ToString() == value
            // A CIDR around a metadata range gets it as an exception; one inside it cannot.
            && !NetworkPolicySettings.MetadataRanges.Any(m => m.Contains(network.BaseAddress) && network.PrefixLength >= m.PrefixLength);

    private static IngressSettings? ReadIngress(ConfigSection section)
    {
        var enabled = section.Bool("enabled", false);
        var className = section.String("className", null, DnsSubdomain().IsMatch, "the name of an IngressClass");
        var tlsSecretName = section.String("tlsSecretName", null, DnsSubdomain().IsMatch, "the name of a TLS Secret in the namespace");
        var annotations = section.Section("annotations", []).StringMap();
        return enabled
            ? new IngressSettings(className, tlsSecretName, annotations.ToImmutableSortedDictionary(StringComparer.Ordinal))
            : null;
    }

    private static ImmutableArray<ScheduledTask> ReadScheduledTasks(ConfigSection section)
    {
        const string allowed = "a cron schedule of five fields such as \"*/30 * * * *\", or \"disabled\"";
        var tasks = ImmutableArray.CreateBuilder<ScheduledTask>();
        foreach (var (key, name, upstreamSchedule, command) in UpstreamSchedule)
        {
            var schedule = section.String(key, upstreamSchedule, v => v == "disabled" || CronSchedule().IsMatch(v), allowed);
            if (schedule is not "disabled")
            {
                tasks.Add(new ScheduledTask(name, schedule!, [.. command]));
            }
        }

        return tasks.ToImmutable();
    }

    private static MediaSettings? ReadMedia(ConfigSection section, Func<string, string?> getSecret, bool keysInExistingSecret, List<string> errors)
    {
        var storage = section.String("storage", "pvc", MediaStorages.Contains, OneOf(MediaStorages));
        var size = section.String("size", "10Gi", IsMemoryQuantity, "a storage quantity such as \"20Gi\"")!;
        var storageClass = section.String("storageClass", null, DnsSubdomain().IsMatch, StorageClassAllowed);
        var accessMode = section.String("accessMode", "ReadWriteMany", AccessModes.Contains,
            OneOf(AccessModes) + " (web, worker and the scheduled tasks all mount media at once, so ReadWriteOncePod would leave all but one pod waiting for ever)")!;
        var singleNode = section.Bool("singleNode", false);
        if (accessMode == "ReadWriteOnce" && !singleNode && storage is not "s3")
        {
            section.Error("accessMode", "\"ReadWriteOnce\" attaches the volume to one node, and web, worker and the scheduled tasks mount it at once, so pods scheduled on"
                + $" another node hang in ContainerCreating; expected \"ReadWriteMany\", or, on a single-node cluster (kind, k3d, minikube), {section.Path}.singleNode: true.");
        }
        if (storage is not "s3")
        {
            if (section.Has("s3"))
            {
                section.Error("s3", $"is set while {section.Path}.storage is \"{storage}\"; expected {section.Path}.storage: s3, or no s3 settings.");
            }

            return storage is null ? null : new MediaSettings(MediaStorage.PersistentVolumeClaim, size, storageClass, accessMode, null);
        }

        var s3 = section.Section("s3", S3Fields);
        var region = s3.RequiredString("region", S3Region().IsMatch, "an S3 region such as \"eu-central-1\"");
        var endpoint = s3.String("endpoint", null, IsHttpUrl, "an https:// (or http://) URL of the S3 service");
        var bucket = s3.RequiredString("bucket", S3Bucket().IsMatch, "an S3 bucket name");
        var publicUrl = s3.String("publicUrl", null, v => !v.Contains("://", StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(v),
            "the host (and path) media is served from, without scheme, e.g. \"media.example.org\"");
        // With an existing Secret, S3_ACCESS_KEY and S3_ACCESS_SECRET belong in it.
        var accessKey = keysInExistingSecret ? null : RequiredSecret(getSecret, "s3AccessKey", "the S3 access key id", errors);
        var accessSecret = keysInExistingSecret ? null : RequiredSecret(getSecret, "s3AccessSecret", "the S3 secret access key", errors);
        return region is null || bucket is null || (!keysInExistingSecret && (accessKey is null || accessSecret is null))
            ? null
            : new MediaSettings(MediaStorage.S3, size, storageClass, accessMode, new S3Settings(region, endpoint, bucket, publicUrl, accessKey, accessSecret));
    }

    private static Output<string>? RequiredSecret(Func<string, string?> get, string key, string what, List<string> errors)
    {
        var value = get(key);
        if (string.IsNullOrEmpty(value))
        {
            errors.Add($"{ConfigNamespace}:{key} is required; expected {what}, set with `pulumi config set --secret {ConfigNamespace}:{key}`.");
            return null;
        }

        return Output.CreateSecret(value);
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

    private static bool IsHttpUrl(string value)
        => Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    private static bool IsAllowedNamespace(string value)
        => DnsLabel().IsMatch(value) && !ReservedNamespaces.Contains(value);

    private const string ImageWithTagAllowed = "an image reference with a tag, e.g. \"docker.io/library/postgres:17.2-alpine\"";
    private const string StorageClassAllowed = "the name of a StorageClass, or leave it unset for the cluster's default";
    private const string CpuAllowed = "a CPU quantity such as \"250m\" or \"2\"";
    private const string MemoryAllowed = "a memory quantity such as \"512Mi\" or \"1Gi\"";
    private const string PostgresIdentifierAllowed = "a PostgreSQL identifier: a letter or '_' followed by letters, digits or '_', at most 63 characters";

    private static bool IsCpuQuantity(string value) => CpuQuantity().IsMatch(value) && ParseQuantity(value) > 0;

    private static bool IsMemoryQuantity(string value) => MemoryQuantity().IsMatch(value) && ParseQuantity(value) > 0;

    private static decimal ParseQuantity(string value)
    {
        var match = QuantityParts().Match(value);
        var number = decimal.Parse(match.Groups["number"].Value, CultureInfo.InvariantCulture);
        var factor = match.Groups["suffix"].Value switch
        {
            "m" => 0.001m,
            "k" => 1e3m,
            "M" => 1e6m,
            "G" => 1e9m,
            "T" => 1e12m,
            "Ki" => 1024m,
            "Mi" => 1024m * 1024,
            "Gi" => 1024m * 1024 * 1024,
            "Ti" => 1024m * 1024 * 1024 * 1024,
            _ => 1m,
        };
        return number * factor;
    }

    private static string OneOf(IEnumerable<string> values) => "one of " + string.Join(", ", values.Select(v => $"\"{v}\""));

    [GeneratedRegex("^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")]
    private static partial Regex DomainName();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    private static partial Regex HostName();

    [GeneratedRegex("^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*$")]
    private static partial Regex ImageRepository();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex LabelName();

    [GeneratedRegex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ImageWithTag();

    [GeneratedRegex("^(@(yearly|annually|monthly|weekly|daily|hourly)|[0-9*/,-]+( [0-9A-Za-z*/,-]+){4})$")]
    private static partial Regex CronSchedule();

    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]+$|^[a-z0-9-]{2,32}$")]
    private static partial Regex S3Region();

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex S3Bucket();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ImageTag();

    [GeneratedRegex("^sha256:[a-f0-9]{64}$")]
    private static partial Regex ImageDigest();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex PostgresIdentifier();

    [GeneratedRegex("^[A-Z_][A-Z0-9_]*$")]
    private static partial Regex EnvironmentVariableName();

    /// <summary>Names that hold credentials by convention (MAIL_PASSWORD, SENTRY_DSN, RECAPTCHA_PRIVATE_KEY, ...), public keys aside.</summary>
    [GeneratedRegex("PASSWORD|PASSWD|SECRET|TOKEN|DSN|CREDENTIAL|PRIVATE_KEY|API_KEY|ACCESS_KEY")]
    private static partial Regex SecretVariableName();

    [GeneratedRegex("^[0-9]+(\\.[0-9]{1,3})?m?$")]
    private static partial Regex CpuQuantity();

    [GeneratedRegex("^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")]
    private static partial Regex MemoryQuantity();

    [GeneratedRegex("^(?<number>[0-9]+(\\.[0-9]+)?)(?<suffix>[a-zA-Z]*)$")]
    private static partial Regex QuantityParts();
}
