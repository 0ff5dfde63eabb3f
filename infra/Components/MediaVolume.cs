using PieFed.Infra.Configuration;
using Pulumi;

namespace PieFed.Infra.Components;

public sealed class MediaVolumeArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required MediaSettings Media { get; init; }
}

/// <summary>The uploads (<c>/app/app/static/media</c>) that web, worker and scheduled tasks all write.</summary>
public sealed class MediaVolume : ComponentResource
{
    public MediaVolume(string name, MediaVolumeArgs args, ComponentResourceOptions? options = null)
        : base("piefed:data:MediaVolume", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var claim = VolumeClaims.Create(name, args.Namespace, "media", args.Media.AccessMode, args.Media.Size, args.Media.StorageClass, this);

        ClaimName = claim.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?> { ["claimName"] = ClaimName });
    }

    public Output<string> ClaimName { get; }
}
