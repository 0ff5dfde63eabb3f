using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using CoreV1 = Pulumi.Kubernetes.Core.V1;

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
        var claim = new CoreV1.PersistentVolumeClaim(name, new PersistentVolumeClaimArgs
        {
            Metadata = new ObjectMetaArgs
            {
                Name = name,
                Namespace = args.Namespace,
                Labels = Labels.For("media"),
                // Storage classes that bind on first use (most local clusters) leave the claim Pending
                // until a pod mounts it; the pods wait for the claim, so Pulumi must not.
                Annotations = { ["pulumi.com/skipAwait"] = "true" },
            },
            Spec = new PersistentVolumeClaimSpecArgs
            {
                AccessModes = { args.Media.AccessMode },
                StorageClassName = args.Media.StorageClass is null ? null : (Input<string>)args.Media.StorageClass,
                Resources = new VolumeResourceRequirementsArgs { Requests = { ["storage"] = args.Media.Size } },
            },
        }, new CustomResourceOptions { Parent = this });

        ClaimName = claim.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?> { ["claimName"] = ClaimName });
    }

    public Output<string> ClaimName { get; }
}
