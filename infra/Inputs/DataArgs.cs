using Pulumi;

namespace PieFed.Infra.Inputs;

/// <summary>Dumps of the database: before every migration, and on a schedule.</summary>
public sealed class BackupArgs : ResourceArgs
{
    [Input("beforeMigration")]
    public bool? BeforeMigration { get; set; }

    /// <summary>A cron schedule, or "disabled".</summary>
    [Input("schedule")]
    public string? Schedule { get; set; }

    [Input("keep")]
    public int? Keep { get; set; }

    [Input("size")]
    public string? Size { get; set; }

    [Input("storageClass")]
    public string? StorageClass { get; set; }

    /// <summary>The longest one dump may take; the migration's deadline grows by it when a dump comes first.</summary>
    [Input("timeoutMinutes")]
    public int? TimeoutMinutes { get; set; }

    /// <summary>The restore Job's deadline.</summary>
    [Input("restoreTimeoutMinutes")]
    public int? RestoreTimeoutMinutes { get; set; }
}

/// <summary>PostgreSQL and Redis run by the instance itself: for development, never for data you keep.</summary>
public sealed class BundledServicesArgs : ResourceArgs
{
    [Input("enabled")]
    public bool? Enabled { get; set; }

    [Input("postgresImage")]
    public string? PostgresImage { get; set; }

    [Input("redisImage")]
    public string? RedisImage { get; set; }

    [Input("storageSize")]
    public string? StorageSize { get; set; }

    [Input("storageClass")]
    public string? StorageClass { get; set; }
}

public sealed class DatabaseArgs : ResourceArgs
{
    [Input("host", required: true)]
    public string? Host { get; set; }

    [Input("port")]
    public int? Port { get; set; }

    [Input("name")]
    public string? Name { get; set; }

    [Input("user")]
    public string? User { get; set; }

    [Input("sslMode")]
    public string? SslMode { get; set; }

    /// <summary>A Secret in the namespace whose <c>ca.crt</c> is the CA that signed the server's certificate; required by verify-ca and verify-full.</summary>
    [Input("caSecret")]
    public string? CaSecret { get; set; }
}

public sealed class RedisArgs : ResourceArgs
{
    [Input("host", required: true)]
    public string? Host { get; set; }

    [Input("port")]
    public int? Port { get; set; }

    [Input("cacheDb")]
    public int? CacheDb { get; set; }

    [Input("brokerDb")]
    public int? BrokerDb { get; set; }
}

/// <summary>Where uploaded media lives: a PersistentVolumeClaim ("pvc") or an S3 bucket ("s3").</summary>
public sealed class MediaArgs : ResourceArgs
{
    [Input("storage")]
    public string? Storage { get; set; }

    [Input("size")]
    public string? Size { get; set; }

    [Input("storageClass")]
    public string? StorageClass { get; set; }

    [Input("accessMode")]
    public string? AccessMode { get; set; }

    /// <summary>Allows ReadWriteOnce on a cluster of one node, where every pod shares it.</summary>
    [Input("singleNode")]
    public bool? SingleNode { get; set; }

    [Input("s3")]
    public S3Args? S3 { get; set; }
}

public sealed class S3Args : ResourceArgs
{
    [Input("region", required: true)]
    public string? Region { get; set; }

    [Input("endpoint")]
    public string? Endpoint { get; set; }

    [Input("bucket", required: true)]
    public string? Bucket { get; set; }

    [Input("publicUrl")]
    public string? PublicUrl { get; set; }
}
