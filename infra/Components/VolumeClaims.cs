using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using CoreV1 = Pulumi.Kubernetes.Core.V1;

namespace PieFed.Infra.Components;

/// <summary>The instance's data volumes, all claimed the same way.</summary>
internal static class VolumeClaims
{
    public static CoreV1.PersistentVolumeClaim Create(
        string name, Input<string> ns, string component, string accessMode, string size, string? storageClass, Resource parent)
        => new(name, new PersistentVolumeClaimArgs
        {
            Metadata = new ObjectMetaArgs
            {
                Name = name,
                Namespace = ns,
                Labels = Labels.For(component),
                // Storage classes that bind on first use (most local clusters) leave the claim Pending
                // until a pod mounts it; the pods wait for the claim, so Pulumi must not.
                Annotations = { ["pulumi.com/skipAwait"] = "true" },
            },
            Spec = new PersistentVolumeClaimSpecArgs
            {
                AccessModes = { accessMode },
                StorageClassName = storageClass is null ? null : (Input<string>)storageClass,
                Resources = new VolumeResourceRequirementsArgs { Requests = { ["storage"] = size } },
            },
        }, new CustomResourceOptions { Parent = parent });
}
