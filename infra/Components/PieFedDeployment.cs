using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Apps.V1;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using AppsV1 = Pulumi.Kubernetes.Apps.V1;

namespace PieFed.Infra.Components;

public sealed class PieFedDeploymentArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    /// <summary>The role of the pods, e.g. "web"; also the container's name and the selector's component label.</summary>
    public required string Component { get; init; }

    public required IReadOnlyList<string> Command { get; init; }

    public required WorkloadSettings Workload { get; init; }

    public required AppRuntime Runtime { get; init; }

    public required MigrationGate Gate { get; init; }

    public IReadOnlyList<ContainerPortArgs> Ports { get; init; } = [];
}

/// <summary>A PieFed Deployment whose pods start only after this release's migration completed.</summary>
public sealed class PieFedDeployment : ComponentResource
{
    public PieFedDeployment(string name, PieFedDeploymentArgs args, ComponentResourceOptions? options = null)
        : base("piefed:app:PieFedDeployment", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var container = args.Runtime.Container(args.Component, args.Command, args.Workload.Resources);
        container.Ports = args.Ports.ToArray();

        var deployment = new AppsV1.Deployment(name, new DeploymentArgs
        {
            // A fixed name: operators and the old setup's runbooks address `deployment/piefed-web`.
            Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = Labels.For(args.Component) },
            Spec = new DeploymentSpecArgs
            {
                Replicas = args.Workload.Replicas,
                Selector = new LabelSelectorArgs { MatchLabels = Labels.Selector(args.Component) },
                Template = new PodTemplateSpecArgs
                {
                    Metadata = new ObjectMetaArgs { Labels = Labels.For(args.Component) },
                    Spec = args.Gate.Spec(args.Runtime, container),
                },
            },
        }, new CustomResourceOptions { Parent = this });

        DeploymentName = deployment.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?> { ["deploymentName"] = DeploymentName });
    }

    public Output<string> DeploymentName { get; }
}
