using PieFed.Infra.Components;
using PieFed.Infra.Inputs;
using Pulumi;

namespace PieFed.Infra.Configuration;

/// <summary>The data: backups, PostgreSQL and Redis (external, bundled, or in an existing Secret), the secret key, media.</summary>
internal static partial class InstanceSettings
{
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
            section.String("storageClass", null, DnsSubdomain().IsMatch, StorageClassAllowed),
            TimeSpan.FromMinutes(section.Int("timeoutMinutes", 30, 1, 720)),
            TimeSpan.FromMinutes(section.Int("restoreTimeoutMinutes", 60, 1, 720)));
    }

    private static DataServices? ReadDataServices(InstanceInputs inputs, bool inExistingSecret, List<string> errors)
    {
        var get = inputs.Get;
        var bundled = Section<BundledServicesArgs>(get, "bundledServices", errors);
        var isBundled = bundled.Bool("enabled", false);
        bool IsSet(string key) => key.EndsWith("Password", StringComparison.Ordinal) ? inputs.Secret(key) is not null : get(key) is not null;
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
            var database = ReadDatabase(Section<DatabaseArgs>(get, "database", errors), inputs.Secret("databasePassword"), errors);
            var redis = ReadRedis(Section<RedisArgs>(get, "redis", errors), inputs.Secret("redisPassword"), errors);
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

    private static DatabaseSettings? ReadDatabase(ConfigSection section, SecretInput? password, List<string> errors)
    {
        var host = section.RequiredString("host", HostName().IsMatch, "a host name or IPv4 address of the PostgreSQL server");
        var port = section.Int("port", 5432, 1, 65535);
        var name = section.String("name", "piefed", PostgresIdentifier().IsMatch, PostgresIdentifierAllowed);
        var user = section.String("user", "piefed", PostgresIdentifier().IsMatch, PostgresIdentifierAllowed);
        var sslMode = section.String("sslMode", null, SslModes.Contains, OneOf(SslModes));
        var caSecret = section.String("caSecret", null, DnsSubdomain().IsMatch, "the name of a Secret in the namespace with the CA certificate as ca.crt");
        var verifies = sslMode is "verify-ca" or "verify-full";
        if (verifies && caSecret is null)
        {
            section.Error("sslMode", $"\"{sslMode}\" needs the CA that signed the server's certificate, and the image has none (libpq would look for ~/.postgresql/root.crt); expected {section.Path}.caSecret naming a Secret with it as ca.crt, or sslMode \"require\".");
        }
        else if (!verifies && caSecret is not null)
        {
            section.Error("caSecret", $"is set while {section.Path}.sslMode is {(sslMode is null ? "unset" : $"\"{sslMode}\"")}, which verifies nothing; expected sslMode \"verify-full\" (or \"verify-ca\").");
        }

        if (password is null or { Known.Length: 0 })
        {
            errors.Add($"{ConfigNamespace}:databasePassword is required; expected the PostgreSQL user's password, {SetAsSecret("databasePassword")}.");
            return null;
        }

        return host is null || name is null || user is null
            ? null
            : new DatabaseSettings(host, port, name, user, password.Value, sslMode, caSecret);
    }

    private static RedisSettings? ReadRedis(ConfigSection section, SecretInput? password, List<string> errors)
    {
        var host = section.RequiredString("host", HostName().IsMatch, "a host name or IPv4 address of the Redis server");
        var port = section.Int("port", 6379, 1, 65535);
        var cacheDb = section.Int("cacheDb", 1, 0, 15);
        var brokerDb = section.Int("brokerDb", 0, 0, 15);

        if (cacheDb == brokerDb)
        {
            section.Error("brokerDb", $"\"{brokerDb}\" is also the cache database; expected a Redis database other than {section.Path}.cacheDb, so that flushing the cache never drops queued tasks.");
        }

        if (password is { Known.Length: 0 })
        {
            errors.Add($"{ConfigNamespace}:redisPassword: an empty password is not allowed; expected the Redis password, or leave the key unset when Redis has none.");
        }
        else if (password is { Known: { } known } && !ConnectionUrls.IsReadableInAUrl(known))
        {
            errors.Add($"{ConfigNamespace}:redisPassword {ConnectionUrls.RedisPasswordRule}");
        }

        return host is null ? null : new RedisSettings(host, port, cacheDb, brokerDb, password?.Value);
    }

    private static Output<string>? ReadSecretKey(SecretInput? secretKey, List<string> errors)
    {
        const int minimumLength = 32;
        if (secretKey is null)
        {
            return null;
        }

        if (secretKey.Known is { } value && value.Length < minimumLength)
        {
            errors.Add($"{ConfigNamespace}:secretKey: a value of {value.Length} characters is too short to sign sessions; expected at least {minimumLength} characters, or leave it unset and the program generates one.");
            return null;
        }

        return secretKey.Value;
    }

    private static MediaSettings? ReadMedia(ConfigSection section, InstanceInputs inputs, bool keysInExistingSecret, List<string> errors)
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

        var s3 = section.Section<S3Args>("s3");
        var region = s3.RequiredString("region", S3Region().IsMatch, "an S3 region such as \"eu-central-1\"");
        var endpoint = s3.String("endpoint", null, IsHttpUrl, "an https:// (or http://) URL of the S3 service");
        var bucket = s3.RequiredString("bucket", S3Bucket().IsMatch, "an S3 bucket name");
        var publicUrl = s3.String("publicUrl", null, v => !v.Contains("://", StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(v),
            "the host (and path) media is served from, without scheme, e.g. \"media.example.org\"");
        // With an existing Secret, S3_ACCESS_KEY and S3_ACCESS_SECRET belong in it.
        var accessKey = keysInExistingSecret ? null : RequiredSecret(inputs, "s3AccessKey", "the S3 access key id", errors);
        var accessSecret = keysInExistingSecret ? null : RequiredSecret(inputs, "s3AccessSecret", "the S3 secret access key", errors);
        return region is null || bucket is null || (!keysInExistingSecret && (accessKey is null || accessSecret is null))
            ? null
            : new MediaSettings(MediaStorage.S3, size, storageClass, accessMode, new S3Settings(region, endpoint, bucket, publicUrl, accessKey, accessSecret));
    }

    private static Output<string>? RequiredSecret(InstanceInputs inputs, string key, string what, List<string> errors)
    {
        var secret = inputs.Secret(key);
        if (secret is null or { Known.Length: 0 })
        {
            errors.Add($"{ConfigNamespace}:{key} is required; expected {what}, {SetAsSecret(key)}.");
            return null;
        }

        return secret.Value;
    }

    /// <summary>How a credential is given, in a stack and through the package.</summary>
    private static string SetAsSecret(string key)
        => $"set with `pulumi config set --secret {ConfigNamespace}:{key}` (or, using the package, the secret input {key})";

    private static bool IsHttpUrl(string value)
        => Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    private const string DefaultBackupSchedule = "30 3 * * *";
    private static readonly string[] ExternalDataServiceKeys = ["database", "redis", "databasePassword", "redisPassword"];
    private static readonly string[] SslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
    private static readonly string[] AccessModes = ["ReadWriteMany", "ReadWriteOnce"];
    private static readonly string[] MediaStorages = ["pvc", "s3"];
}
