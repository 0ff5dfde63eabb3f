using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

/// <summary>
/// The CA that signed PostgreSQL's certificate, from a Secret the operator names, read-only in every
/// PieFed container: all of them carry DATABASE_URL, whose <c>sslrootcert</c> points here. The image
/// has no <c>~/.postgresql/root.crt</c>, where libpq would look otherwise.
/// </summary>
internal static class DatabaseCa
{
    public const string VolumeName = "postgres-ca";
    public const string Directory = "/etc/piefed/postgres-ca";
    public const string Key = "ca.crt";
    public const string Path = Directory + "/" + Key;

    public static VolumeArgs Volume(string secretName)
        => new()
        {
            Name = VolumeName,
            // r--r--r--: read by libpq as the image's user, never changed.
            Secret = new SecretVolumeSourceArgs { SecretName = secretName, Items = { new KeyToPathArgs { Key = Key, Path = Key } }, DefaultMode = 0b100_100_100 },
        };

    public static VolumeMountArgs Mount() => new() { Name = VolumeName, MountPath = Directory, ReadOnly = true };
}
