using System.Collections.Immutable;
using Pulumi;

namespace PieFed.Infra.Configuration;

public enum DeploymentEnvironment
{
    Development,
    Production,
}

/// <summary>Everything the stack reads from its <c>piefed:*</c> configuration, validated.</summary>
public sealed record PieFedSettings(
    DeploymentEnvironment Environment,
    string Namespace,
    string ServerName,
    ImageSettings Image,
    WorkloadSettings Web,
    WorkloadSettings Worker,
    MigrationSettings Migration,
    DatabaseSettings Database,
    RedisSettings Redis,
    Output<string>? SecretKey,
    ImmutableSortedDictionary<string, string> ExtraEnvironment);

public sealed record ImageSettings(string Repository, string Tag, string? Digest, string PullPolicy)
{
    /// <summary>A digest, when given, pins the bytes; the tag stays for people reading the manifest.</summary>
    public string Reference => Digest is null ? $"{Repository}:{Tag}" : $"{Repository}:{Tag}@{Digest}";
}

public sealed record ResourceSettings(string CpuRequest, string MemoryRequest, string CpuLimit, string MemoryLimit);

public sealed record WorkloadSettings(int Replicas, ResourceSettings Resources);

public sealed record MigrationSettings(TimeSpan Timeout, int BackoffLimit);

public sealed record DatabaseSettings(string Host, int Port, string Name, string User, Output<string> Password, string? SslMode);

public sealed record RedisSettings(string Host, int Port, int CacheDb, int BrokerDb, Output<string>? Password);
