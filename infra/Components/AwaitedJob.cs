using System.Collections.Immutable;
using System.Globalization;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Batch.V1;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using BatchV1 = Pulumi.Kubernetes.Batch.V1;

namespace PieFed.Infra.Components;

/// <summary>
/// A one-off run of the migration script that Pulumi awaits (the migration, a declared restore):
/// auto-named, so that a changed run is a new Job; awaited for as long as its deadline; and, when
/// it failed, replaced by the next <c>pulumi up</c> instead of sitting in the state as failed
/// (pulumi-kubernetes' await logic reads both annotations).
/// </summary>
internal static class AwaitedJob
{
    public const string ReplaceUnreadyAnnotation = "pulumi.com/replaceUnready";
    public const string TimeoutSecondsAnnotation = "pulumi.com/timeoutSeconds";

    public static BatchV1.Job Create(
        string name, Input<string> ns, ImmutableDictionary<string, string> labels, int deadlineSeconds, int backoffLimit, PodSpecArgs spec, Resource parent,
        IEnumerable<KeyValuePair<string, string>>? annotations = null)
    {
        var metadata = new ObjectMetaArgs
        {
            Namespace = ns,
            Labels = labels,
            Annotations =
            {
                [ReplaceUnreadyAnnotation] = "true",
                [TimeoutSecondsAnnotation] = deadlineSeconds.ToString(CultureInfo.InvariantCulture),
            },
        };
        foreach (var (key, value) in annotations ?? [])
        {
            metadata.Annotations.Add(key, value);
        }

        return new BatchV1.Job(name, new JobArgs
        {
            Metadata = metadata,
            Spec = new JobSpecArgs
            {
                BackoffLimit = backoffLimit,
                ActiveDeadlineSeconds = deadlineSeconds,
                Template = new PodTemplateSpecArgs
                {
                    Metadata = new ObjectMetaArgs { Labels = labels },
                    Spec = spec,
                },
            },
        }, new CustomResourceOptions { Parent = parent });
    }
}
