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

    public required ReplicaCount Replicas { get; init; }

    /// <summary>Maintenance: no pod runs, whatever <see cref="Replicas"/> says.</summary>
    public bool Stopped { get; init; }

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
        var deploymentOptions = new CustomResourceOptions { Parent = this };
        if (args.Replicas.Autoscaled)
        {
            deploymentOptions.IgnoreChanges.Add(ReplicaCount.Field);
        }

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
            Metadata = new ObjectMetaArgs
            {
                Name = name,
                Namespace = args.Namespace,
                Labels = labels,
                Annotations = { [ReplicaCount.ForceAnnotation] = "true" },
            },
            Spec = new DeploymentSpecArgs
            {
                Replicas = args.Stopped && !args.Replicas.Autoscaled ? 0 : args.Replicas.Count,
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
        }, deploymentOptions);

        if (args.Stopped && args.Replicas.Autoscaled)
        {
            HoldAtZero(name, deployment, args.Namespace);
        }

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

    /// <summary>
    /// An autoscaled Deployment in maintenance. Its own <c>spec.replicas</c> cannot say 0:
    /// <c>ignoreChanges</c> would keep that 0 after maintenance (it sends the live value while
    /// Pulumi owns the field), and a HorizontalPodAutoscaler never scales up from 0
    /// (kubernetes/kubernetes pkg/controller/podautoscaler/horizontal.go: "scaling is disabled since
    /// the replica count of the target is zero"), so the site would stay down. A patch of its own
    /// field manager holds the field at 0 instead, with force, taking it from the autoscaler; the
    /// autoscaler, seeing 0, leaves it alone. Deleting the patch at the end of maintenance gives the
    /// field up (pulumi-kubernetes v4.32.0 provider/pkg/ssa/actions.go, <c>Relinquish</c>): with no
    /// manager left, the API server defaults it to 1, and the autoscaler takes over from there.
    /// </summary>
    private void HoldAtZero(string name, AppsV1.Deployment deployment, Input<string> ns)
        => new AppsV1.DeploymentPatch($"{name}-stopped", new DeploymentPatchArgs
        {
            Metadata = new ObjectMetaPatchArgs
            {
                Name = deployment.Metadata.Apply(m => m.Name),
                Namespace = ns,
                Annotations = { [ReplicaCount.ForceAnnotation] = "true" },
            },
            Spec = new DeploymentSpecPatchArgs { Replicas = 0 },
        }, new CustomResourceOptions { Parent = this });
}

/// <summary>
/// How many pods a Deployment asks for, and whether an autoscaler owns that number. Under
/// server-side apply, a field that its last manager stops sending is removed, and the API server
/// then defaults <c>spec.replicas</c> to 1: a Deployment that dropped the field when an autoscaler
/// was switched on would collapse to one pod until the autoscaler, created afterwards, scaled it
/// back (Kubernetes' "Server-Side Apply", section "Transferring ownership", describes the same
/// hand-over for kubectl). So the field is always sent:
/// <list type="bullet">
/// <item>fixed: the configured count, applied with force, so that it also takes the field back
/// from an autoscaler that is being removed in the same update;</item>
/// <item>autoscaled: the minimum for a new Deployment, and <c>ignoreChanges</c> on the field, with
/// which pulumi-kubernetes sends the live value while it still owns the field and leaves the field
/// out once the autoscaler has taken it over (provider/pkg/await/await.go,
/// <c>handleSSAIgnoreFields</c>): switching the autoscaler on keeps the running count, and no
/// later <c>pulumi up</c> undoes a scale.</item>
/// </list>
/// </summary>
public sealed record ReplicaCount(int Count, bool Autoscaled)
{
    public const string Field = "spec.replicas";

    /// <summary>pulumi-kubernetes applies a resource with this annotation with force, taking over fields other managers hold (provider/pkg/await/await.go, <c>patchForce</c>).</summary>
    public const string ForceAnnotation = "pulumi.com/patchForce";

    public static ReplicaCount Fixed(int count) => new(count, Autoscaled: false);

    public static ReplicaCount ByAutoscaler(int minimum) => new(minimum, Autoscaled: true);
}
