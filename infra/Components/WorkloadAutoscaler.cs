using System.Collections.Immutable;
using System.Globalization;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Autoscaling.V2;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using ApiExtensions = Pulumi.Kubernetes.ApiExtensions;
using AutoscalingV2 = Pulumi.Kubernetes.Autoscaling.V2;
using CoreV1 = Pulumi.Kubernetes.Core.V1;

namespace PieFed.Infra.Components;

public sealed class WorkloadAutoscalerArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    /// <summary>The Deployment to scale, e.g. <c>piefed-worker</c>.</summary>
    public required Input<string> DeploymentName { get; init; }

    public required string Component { get; init; }

    public required int MinReplicas { get; init; }

    public required int MaxReplicas { get; init; }

    public required int CpuUtilization { get; init; }

    public int? MemoryUtilization { get; init; }

    /// <summary>With KEDA, the Celery queues to scale on instead of CPU; null for a HorizontalPodAutoscaler.</summary>
    public CeleryQueues? Queues { get; init; }

    /// <summary>
    /// Maintenance: the Deployment stays at 0. A HorizontalPodAutoscaler never scales up from 0 by
    /// itself; KEDA does (below its minimum, or when a queue fills), so a ScaledObject is paused.
    /// </summary>
    public bool Paused { get; init; }
}

/// <summary>Where Celery's queues wait, as lists named after the queues in the broker's Redis database (kombu's Redis transport).</summary>
/// <param name="QueueLength">The waiting tasks per pod KEDA scales to.</param>
public sealed record CeleryQueues(Output<string> Host, int Port, int Database, Output<string>? Password, ImmutableArray<string> Names, int QueueLength, int CooldownSeconds);

/// <summary>
/// The replica count of one Deployment, owned by an autoscaler: a HorizontalPodAutoscaler on CPU (and
/// memory), or a KEDA ScaledObject on the length of Celery's queues, which reacts to work waiting
/// rather than to work already being done.
/// </summary>
public sealed class WorkloadAutoscaler : ComponentResource
{
    public WorkloadAutoscaler(string name, WorkloadAutoscalerArgs args, ComponentResourceOptions? options = null)
        : base("piefed:app:WorkloadAutoscaler", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var childOptions = new CustomResourceOptions { Parent = this };
        var labels = Labels.For(args.Component);

        if (args.Queues is { } queues)
        {
            ScaleOnQueues(name, args, queues, labels, childOptions);
        }
        else
        {
            var metrics = new InputList<MetricSpecArgs> { Utilization("cpu", args.CpuUtilization) };
            if (args.MemoryUtilization is { } memory)
            {
                metrics.Add(Utilization("memory", memory));
            }

            new AutoscalingV2.HorizontalPodAutoscaler(name, new HorizontalPodAutoscalerArgs
            {
                Metadata = new ObjectMetaArgs { Name = args.DeploymentName, Namespace = args.Namespace, Labels = labels },
                Spec = new HorizontalPodAutoscalerSpecArgs
                {
                    ScaleTargetRef = new CrossVersionObjectReferenceArgs { ApiVersion = "apps/v1", Kind = "Deployment", Name = args.DeploymentName },
                    MinReplicas = args.MinReplicas,
                    MaxReplicas = args.MaxReplicas,
                    Metrics = metrics,
                },
            }, childOptions);
        }

        RegisterOutputs();
    }

    public const string KedaPausedReplicasAnnotation = "autoscaling.keda.sh/paused-replicas";

    private static MetricSpecArgs Utilization(string resource, int percent)
        => new()
        {
            Type = "Resource",
            Resource = new ResourceMetricSourceArgs
            {
                Name = resource,
                Target = new MetricTargetArgs { Type = "Utilization", AverageUtilization = percent },
            },
        };

    private static void ScaleOnQueues(string name, WorkloadAutoscalerArgs args, CeleryQueues queues, ImmutableDictionary<string, string> labels, CustomResourceOptions childOptions)
    {
        Input<string>? authentication = null;
        if (queues.Password is { } password)
        {
            var secret = new CoreV1.Secret($"{name}-redis", new SecretArgs
            {
                Metadata = new ObjectMetaArgs { Namespace = args.Namespace, Labels = labels },
                StringData = { ["password"] = password },
            }, childOptions);
            authentication = new ApiExtensions.CustomResource($"{name}-redis", new KedaArgs("TriggerAuthentication")
            {
                Metadata = new ObjectMetaArgs { Namespace = args.Namespace, Labels = labels },
                Spec = new Dictionary<string, object>
                {
                    ["secretTargetRef"] = new[]
                    {
                        new Dictionary<string, object> { ["parameter"] = "password", ["name"] = secret.Metadata.Apply(m => m.Name), ["key"] = "password" },
                    },
                },
            }, childOptions).Metadata.Apply(m => m.Name);
        }

        var address = queues.Host.Apply(host => string.Create(CultureInfo.InvariantCulture, $"{host}:{queues.Port}"));
        var triggers = queues.Names.Select(queue =>
        {
            var trigger = new Dictionary<string, object>
            {
                ["type"] = "redis",
                ["metadata"] = new Dictionary<string, object>
                {
                    ["address"] = address,
                    ["listName"] = queue,
                    ["listLength"] = queues.QueueLength.ToString(CultureInfo.InvariantCulture),
                    ["databaseIndex"] = queues.Database.ToString(CultureInfo.InvariantCulture),
                },
            };
            if (authentication is not null)
            {
                trigger["authenticationRef"] = new Dictionary<string, object> { ["name"] = authentication };
            }

            return trigger;
        }).ToArray();

        var metadata = new ObjectMetaArgs { Name = args.DeploymentName, Namespace = args.Namespace, Labels = labels };
        if (args.Paused)
        {
            // KEDA scales the target to this count and stops scaling until the annotation is gone
            // (keda-docs, content/docs/2.19/concepts/scaling-deployments.md, "Pausing autoscaling").
            metadata.Annotations.Add(KedaPausedReplicasAnnotation, "0");
        }

        new ApiExtensions.CustomResource(name, new KedaArgs("ScaledObject")
        {
            Metadata = metadata,
            Spec = new Dictionary<string, object>
            {
                ["scaleTargetRef"] = new Dictionary<string, object> { ["name"] = args.DeploymentName },
                ["minReplicaCount"] = args.MinReplicas,
                ["maxReplicaCount"] = args.MaxReplicas,
                // KEDA's cooldownPeriod applies only to scaling down to zero, which a minimum of at
                // least one never does; between the minimum and the maximum the HPA that KEDA creates
                // scales, so the cool-down is that HPA's scale-down stabilisation window (KEDA's
                // ScaledObject specification: cooldownPeriod, advanced.horizontalPodAutoscalerConfig).
                ["advanced"] = new Dictionary<string, object>
                {
                    ["horizontalPodAutoscalerConfig"] = new Dictionary<string, object>
                    {
                        ["behavior"] = new Dictionary<string, object>
                        {
                            ["scaleDown"] = new Dictionary<string, object> { ["stabilizationWindowSeconds"] = queues.CooldownSeconds },
                        },
                    },
                },
                ["triggers"] = triggers,
            },
        }, childOptions);
    }

    /// <summary>A KEDA object (keda.sh/v1alpha1), which Pulumi.Kubernetes has no typed class for.</summary>
    private sealed class KedaArgs(string kind) : ApiExtensions.CustomResourceArgs("keda.sh/v1alpha1", kind)
    {
        [Input("spec")]
        public required Input<Dictionary<string, object>> Spec { get; init; }
    }
}
