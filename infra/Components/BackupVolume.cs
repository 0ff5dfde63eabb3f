using System.Globalization;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

public sealed class BackupVolumeArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required BackupSettings Backup { get; init; }
}

/// <summary>
/// The database dumps that db_init.py writes before a migration and on schedule. One writer at a
/// time (the migration lock), so a ReadWriteOnce claim will do.
/// </summary>
public sealed class BackupVolume : ComponentResource
{
    public BackupVolume(string name, BackupVolumeArgs args, ComponentResourceOptions? options = null)
        : base("piefed:data:BackupVolume", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var claim = VolumeClaims.Create(name, args.Namespace, "backups", "ReadWriteOnce", args.Backup.Size, args.Backup.StorageClass, this);

        Store = new BackupStore(claim.Metadata.Apply(m => m.Name), args.Backup.Keep);
        RegisterOutputs(new Dictionary<string, object?> { ["claimName"] = Store.ClaimName });
    }

    public BackupStore Store { get; }
}

/// <summary>Where db_init.py keeps its dumps (its DB_INIT_BACKUP_* settings), for the pods that write or read them.</summary>
public sealed record BackupStore(Output<string> ClaimName, int Keep)
{
    public const string MountPath = "/var/backups/piefed";
    private const string VolumeName = "backups";

    public void Attach(ContainerArgs container, InputList<VolumeArgs> volumes)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(volumes);
        container.VolumeMounts.Add(new VolumeMountArgs { Name = VolumeName, MountPath = MountPath });
        container.Env.Add(new EnvVarArgs { Name = "DB_INIT_BACKUP_DIRECTORY", Value = MountPath });
        container.Env.Add(new EnvVarArgs { Name = "DB_INIT_BACKUP_KEEP", Value = Keep.ToString(CultureInfo.InvariantCulture) });
        volumes.Add(new VolumeArgs { Name = VolumeName, PersistentVolumeClaim = new PersistentVolumeClaimVolumeSourceArgs { ClaimName = ClaimName } });
    }
}
