using PieFed.Infra.Configuration;
using Pulumi;

namespace PieFed.Infra.Components;

/// <summary>The URLs PieFed and the migration scripts read; credentials are escaped and stay secret.</summary>
internal static class ConnectionUrls
{
    public static Output<string> Database(DatabaseSettings database)
    {
        var query = database.SslMode is null ? "" : $"?sslmode={database.SslMode}";
        return database.Password.Apply(password =>
            $"postgresql+psycopg2://{Uri.EscapeDataString(database.User)}:{Uri.EscapeDataString(password)}@{database.Host}:{database.Port}/{database.Name}{query}");
    }

    public static Output<string> Redis(RedisSettings redis, int db)
        => redis.Password is null
            ? Output.Create($"redis://{redis.Host}:{redis.Port}/{db}")
            : redis.Password.Apply(password => $"redis://:{Uri.EscapeDataString(password)}@{redis.Host}:{redis.Port}/{db}");
}
