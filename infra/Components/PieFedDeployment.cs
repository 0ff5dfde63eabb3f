using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Apps.V1;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Kubernetes.Types.Inputs.Policy.V1;
using AppsV1 = Pulumi.Kubernetes.Apps.V1;
using PolicyV1 = Pulumi.Kubernetes.Policy.V1;

namespace PieFed.Infra.Components;

public sealed class PieFedDeploymentArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    /// <summary>The role of the pods, e.g. "web": the selector's component label.</summary>
    public required string Component { get; init; }

    /// <summary>The main container, built by <see cref="AppRuntime.Container"/>.</summary>
    public required ContainerArgs Container { get; init; }

    /// <summary>Null when an autoscaler owns the replica count: the program then never sets it, so `pulumi up` does not undo a scale.</summary>
    public required int? Replicas { get; init; }

    public required AppRuntime Runtime { get; init; }

    /// <summary>Null for pods that run none of PieFed's database code, which need not wait for the migration.</summary>
    public required MigrationGate? Gate { get; init; }

    /// <summary>More containers in the same pod, started alongside the main one.</summary>
    public IReadOnlyList<ContainerArgs> Sidecars { get; init; } = [];

    public int? TerminationGracePeriodSeconds { get; init; }

    /// <summary>How the replicas spread over nodes and zones.</summary>
    public required SpreadSettings Spread { get; init; }

    /// <summary>Keep all but one replica through voluntary disruptions (node drains): for Deployments that can run more than one.</summary>
    public bool DisruptionBudget { get; init; }
}

/// <summary>A PieFed Deployment; with a gate, its pods start only after this release's migration completed.</summary>
public sealed class PieFedDeployment : ComponentResource
{
    public PieFedDeployment(string name, PieFedDeploymentArgs args, ComponentResourceOptions? options = null)
        : base("piefed:app:PieFedDeployment", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var childOptions = new CustomResourceOptions { Parent = this };
        var labels = Labels.For(args.Component);
        // Only gated pods run PieFed's code against the database and its uploads; the others touch neither.
        var spec = args.Runtime.PodSpec(args.Container, args.Gate, mountsMedia: args.Gate is not null);
        foreach (var sidecar in args.Sidecars)
        {
            spec.Containers.Add(sidecar);
        }

        spec.TerminationGracePeriodSeconds = args.TerminationGracePeriodSeconds;
        spec.TopologySpreadConstraints = Spreading.Constraints(args.Component, args.Spread);

        var deployment = new AppsV1.Deployment(name, new DeploymentArgs
        {
            // A fixed name: operators and the old setup's runbooks address `deployment/piefed-web`.
            Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = labels },
            Spec = new DeploymentSpecArgs
            {
                Replicas = args.Replicas.HasValue ? args.Replicas.Value : null,
                Selector = new LabelSelectorArgs { MatchLabels = Labels.Selector(args.Component) },
                // A new pod must be ready before an old one goes: capacity never drops below the replicas asked for.
                Strategy = new DeploymentStrategyArgs
                {
                    Type = "RollingUpdate",
                    RollingUpdate = new RollingUpdateDeploymentArgs { MaxUnavailable = 0, MaxSurge = 1 },
                },
                Template = new PodTemplateSpecArgs
                {
                    Metadata = new ObjectMetaArgs { Labels = labels },
                    Spec = spec,
                },
            },
        }, childOptions);

        if (args.DisruptionBudget)
        {
            new PolicyV1.PodDisruptionBudget($"{name}-budget", new PodDisruptionBudgetArgs
            {
                Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = labels },
                Spec = new PodDisruptionBudgetSpecArgs
                {
                    MaxUnavailable = 1,
                    Selector = new LabelSelectorArgs { MatchLabels = Labels.Selector(args.Component) },
                },
            }, childOptions);
        }

        DeploymentName = deployment.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?> { ["deploymentName"] = DeploymentName });
    }

    public Output<string> DeploymentName { get; }
}
