using Pulumi;

namespace PieFed.Infra.Inputs;

/// <summary>Everything that writes to the database stopped by the program, and a backup restored while it is.</summary>
public sealed class MaintenanceArgs : ResourceArgs
{
    /// <summary>Web, worker and notifications at 0 pods and every CronJob suspended; the migration Job still runs.</summary>
    [Input("enabled")]
    public bool? Enabled { get; set; }

    /// <summary>A dump in the backup volume to restore before this release's migration, or "newest"; only in maintenance.</summary>
    [Input("restore")]
    public string? Restore { get; set; }
}
