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
        "FLASK_APP", "PIEFED_INIT_CONTAINER");

    private static readonly string[] ImageFields = ["repository", "tag", "digest", "pullPolicy"];
    private static readonly string[] WorkloadFields = ["replicas", "resources"];
    private static readonly string[] ResourcesFields = ["requests", "limits"];
    private static readonly string[] QuantityFields = ["cpu", "memory"];
    private static readonly string[] MigrationFields = ["timeoutMinutes", "backoffLimit"];
    private static readonly string[] DatabaseFields = ["host", "port", "name", "user", "sslMode"];
    private static readonly string[] RedisFields = ["host", "port", "cacheDb", "brokerDb"];
    private static readonly string[] PullPolicies = ["IfNotPresent", "Always", "Never"];
    private static readonly string[] SslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
    private static readonly string[] ReservedNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

    private static readonly ResourceSettings DefaultWebResources = new("250m", "512Mi", "2", "1Gi");
    private static readonly ResourceSettings DefaultWorkerResources = new("250m", "512Mi", "2", "1Gi");

    /// <summary>Reads the stack's configuration from Pulumi.</summary>
    public static PieFedSettings Load() => Load(new Config(ConfigNamespace).Get);

    /// <param name="get">The raw value of <c>piefed:&lt;key&gt;</c>, or null when the key is unset.</param>
    public static PieFedSettings Load(Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        var errors = new List<string>();

        var environment = ReadEnvironment(get("environment"), errors);
        var ns = ReadScalar(get, "namespace", "piefed", IsAllowedNamespace,
            "a lowercase DNS label (letters, digits, '-', at most 63 characters) other than " + string.Join(", ", ReservedNamespaces), errors);
        var serverName = ReadServerName(get("serverName"), errors);
        var image = ReadImage(Section(get, "image", ImageFields, errors), environment);
        var web = ReadWorkload(Section(get, "web", WorkloadFields, errors), DefaultWebResources);
        var worker = ReadWorkload(Section(get, "worker", WorkloadFields, errors), DefaultWorkerResources);
        var migration = ReadMigration(Section(get, "migration", MigrationFields, errors));
        var database = ReadDatabase(Section(get, "database", DatabaseFields, errors), get("databasePassword"), errors);
        var redis = ReadRedis(Section(get, "redis", RedisFields, errors), get("redisPassword"), errors);
        var secretKey = ReadSecretKey(get("secretKey"), errors);
        var extraEnvironment = ReadExtraEnvironment(Section(get, "env", [], errors), errors);

        if (errors.Count > 0)
        {
            throw new InvalidConfigException(errors);
        }

        return new PieFedSettings(environment!.Value, ns!, serverName!, image!, web, worker, migration, database!, redis!, secretKey, extraEnvironment);
    }

    private static ConfigSection Section(Func<string, string?> get, string key, IReadOnlyCollection<string> fields, List<string> errors)
        => ConfigSection.Parse($"{ConfigNamespace}:{key}", get(key), fields, errors);

    private static string? ReadScalar(Func<string, string?> get, string key, string defaultValue, Func<string, bool> isAllowed, string allowed, List<string> errors)
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

    private static WorkloadSettings ReadWorkload(ConfigSection section, ResourceSettings defaults)
    {
        var replicas = section.Int("replicas", 1, 0, 100);
        var resources = section.Section("resources", ResourcesFields);
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

        return new WorkloadSettings(replicas, new ResourceSettings(cpuRequest, memoryRequest, cpuLimit, memoryLimit));
    }

    private static MigrationSettings ReadMigration(ConfigSection section)
        => new(
            TimeSpan.FromMinutes(section.Int("timeoutMinutes", 10, 1, 120)),
            section.Int("backoffLimit", 3, 0, 20));

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
            else
            {
                result[name] = value;
            }
        }

        return result.ToImmutable();
    }

    private static bool IsAllowedNamespace(string value)
        => DnsLabel().IsMatch(value) && !ReservedNamespaces.Contains(value);

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

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ImageTag();

    [GeneratedRegex("^sha256:[a-f0-9]{64}$")]
    private static partial Regex ImageDigest();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex PostgresIdentifier();

    [GeneratedRegex("^[A-Z_][A-Z0-9_]*$")]
    private static partial Regex EnvironmentVariableName();

    [GeneratedRegex("^[0-9]+(\\.[0-9]{1,3})?m?$")]
    private static partial Regex CpuQuantity();

    [GeneratedRegex("^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")]
    private static partial Regex MemoryQuantity();

    [GeneratedRegex("^(?<number>[0-9]+(\\.[0-9]+)?)(?<suffix>[a-zA-Z]*)$")]
    private static partial Regex QuantityParts();
}
