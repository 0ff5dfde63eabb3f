using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

/// <summary>
/// The development stack's own PostgreSQL and Redis, from the official images (docker-library's
/// postgres and redis, Alpine variants): their users, data directories and environment, and the
/// URLs PieFed reaches them by.
/// </summary>
internal static class BundledServers
{
    public const int PostgresPort = 5432;
    public const int RedisPort = 6379;
    public const int CacheDb = 1;
    public const int BrokerDb = 0;
    private const string DatabaseName = "piefed";

    /// <summary>The Alpine image's <c>postgres</c> user is uid 70; its data lives under /var/lib/postgresql/data.</summary>
    public static BundledServer Postgres(string name, Input<string> ns, BundledDataServices bundled, bool protectPassword, ComponentResourceOptions options)
        => new(name, new BundledServerArgs
        {
            Namespace = ns,
            Component = "postgres",
            Image = bundled.PostgresImage,
            Port = PostgresPort,
            RunAsUser = 70,
            PasswordVariable = "POSTGRES_PASSWORD",
            Environment =
            [
                new EnvVarArgs { Name = "POSTGRES_USER", Value = DatabaseName },
                new EnvVarArgs { Name = "POSTGRES_DB", Value = DatabaseName },
                // A subdirectory: the volume's root holds lost+found, which initdb refuses.
                new EnvVarArgs { Name = "PGDATA", Value = "/var/lib/postgresql/data/pgdata" },
            ],
            ReadinessCommand = $"pg_isready -h 127.0.0.1 -U {DatabaseName} -d {DatabaseName}",
            DataPath = "/var/lib/postgresql/data",
            Settings = bundled,
            Resources = new ResourceSettings("100m", "256Mi", "1", "1Gi"),
            ProtectPassword = protectPassword,
        }, options);

    /// <summary>The Alpine image's <c>redis</c> user is uid 999; with an append-only file in /data, a restart keeps the queues.</summary>
    public static BundledServer Redis(string name, Input<string> ns, BundledDataServices bundled, bool protectPassword, ComponentResourceOptions options)
        => new(name, new BundledServerArgs
        {
            Namespace = ns,
            Component = "redis",
            Image = bundled.RedisImage,
            Port = RedisPort,
            RunAsUser = 999,
            PasswordVariable = "REDIS_PASSWORD",
            Args = ["redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data"],
            ReadinessCommand = "redis-cli -a \"$REDIS_PASSWORD\" --no-auth-warning ping | grep -q PONG",
            DataPath = "/data",
            Settings = bundled,
            Resources = new ResourceSettings("50m", "64Mi", "500m", "256Mi"),
            ProtectPassword = protectPassword,
        }, options);

    public static Output<string> DatabaseUrl(BundledServer postgres)
        => Output.Tuple(postgres.Host, postgres.Password).Apply(p =>
            ConnectionUrls.Database(new DatabaseSettings(p.Item1, PostgresPort, DatabaseName, DatabaseName, Output.CreateSecret(p.Item2), null)));

    public static Output<string> RedisUrl(BundledServer redis, int db)
        => Output.Tuple(redis.Host, redis.Password).Apply(p =>
            ConnectionUrls.Redis(new RedisSettings(p.Item1, RedisPort, CacheDb, BrokerDb, Output.CreateSecret(p.Item2)), db));
}
