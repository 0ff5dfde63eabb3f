using PieFed.Infra.Configuration;
using Pulumi;

namespace PieFed.Infra.Components;

/// <summary>The URLs PieFed and the migration scripts read; credentials stay secret, and each is written so that every reader decodes it alike.</summary>
internal static class ConnectionUrls
{
    public static Output<string> Database(DatabaseSettings database)
    {
        var query = (database.SslMode, database.CaSecret) switch
        {
            (null, _) => "",
            // SQLAlchemy hands the query to psycopg2 as connection parameters, and libpq (db_init.py,
            // pg_dump, pg_restore) reads it from the URL: both find the CA where every container mounts it.
            (var mode, not null) => $"?sslmode={mode}&sslrootcert={DatabaseCa.Path}",
            (var mode, null) => $"?sslmode={mode}",
        };
        return database.Password.Apply(password =>
            $"postgresql+psycopg2://{Uri.EscapeDataString(database.User)}:{Uri.EscapeDataString(password)}@{database.Host}:{database.Port}/{database.Name}{query}");
    }

    /// <summary>
    /// The password stands in the URL as it is, never percent-encoded. PieFed reads CACHE_REDIS_URL
    /// with redis-py (Flask-Caching, Flask-Limiter, fastapi_server.py) and Celery reads
    /// CELERY_BROKER_URL with kombu, which percent-decode the password; but PieFed's own client,
    /// which serves the shared inbox and the send queue, takes it from <c>urlparse(url).password</c>
    /// without decoding (app/utils.py, <c>parse_redis_socket_string</c>, v1.7.7). So only a password
    /// that needs no encoding reaches all of them alike: <see cref="IsReadableInAUrl"/>.
    /// </summary>
    public static Output<string> Redis(RedisSettings redis, int db)
        => redis.Password is null
            ? Output.Create($"redis://{redis.Host}:{redis.Port}/{db}")
            : redis.Password.Apply(password => IsReadableInAUrl(password)
                ? $"redis://:{password}@{redis.Host}:{redis.Port}/{db}"
                : throw new InvalidOperationException($"{InstanceSettings.ConfigNamespace}:redisPassword {RedisPasswordRule}"));

    /// <summary>Why a Redis password is refused; it never quotes the password.</summary>
    public const string RedisPasswordRule =
        "has a character that PieFed's Redis clients cannot all read from a URL; expected printable ASCII without '#', '%', '/', '?', '[' or ']'"
        + " (PieFed's own client, parse_redis_socket_string in app/utils.py, reads the password from CACHE_REDIS_URL without percent-decoding it,"
        + " while redis-py and Celery decode it, and '#', '/', '?', '[', ']' end or break the URL's authority for all of them). Change the password on the Redis server and here.";

    /// <summary>
    /// Whether urllib's <c>urlparse</c> (PieFed), redis-py's <c>from_url</c> and kombu's
    /// <c>url_to_parts</c> (Celery) all read this password, written unencoded, as itself: printable
    /// ASCII, none of the characters that end the authority ('#', '/', '?'), none that urllib
    /// takes for an IPv6 host ('[', ']'), and no '%', which only the decoding two would change.
    /// </summary>
    public static bool IsReadableInAUrl(string password)
        => password.All(c => c is >= ' ' and <= '~' && !UnreadableInAUrl.Contains(c));

    private const string UnreadableInAUrl = "#%/?[]";
}
