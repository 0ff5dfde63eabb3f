using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;

namespace PieFed.Infra.Components;

/// <summary>
/// Where a component's replicas go: over as many nodes, and zones, as there are, so that losing
/// one node (or one zone) never takes every pod of web, worker or notifications with it.
/// </summary>
internal static class Spreading
{
    public const string NodeKey = "kubernetes.io/hostname";
    public const string ZoneKey = "topology.kubernetes.io/zone";

    /// <summary>
    /// The Deployment controller's label for one revision of the pod template. Counting only the
    /// incoming pod's own revision keeps a rollout's surge pod from being placed by the old pods it
    /// is about to replace.
    /// </summary>
    public const string RevisionKey = "pod-template-hash";

    /// <summary>The constraints for the pods of one component; empty when spreading is disabled.</summary>
    public static InputList<TopologySpreadConstraintArgs> Constraints(string component, SpreadSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var constraints = new InputList<TopologySpreadConstraintArgs>();
        if (settings.Mode == SpreadMode.Disabled)
        {
            return constraints;
        }

        // Nodes without a zone label are bypassed: "The scheduler only considers nodes that have all
        // topologySpreadConstraints[*].topologyKey present at the same time. Nodes missing any of
        // these topologyKeys are bypassed", and "The PodTopologySpread plugin does not score the
        // nodes that don't have the topology keys" (kubernetes.io/docs/concepts/scheduling-eviction/
        // topology-spread-constraints, "Implicit conventions" and "Built-in default constraints").
        // So where nodes carry no zone label, hard mode leaves pods Pending and soft mode spreads
        // nothing, not even over nodes: on such clusters spread.zones must be false.
        string[] keys = settings.Zones ? [NodeKey, ZoneKey] : [NodeKey];
        foreach (var key in keys)
        {
            constraints.Add(new TopologySpreadConstraintArgs
            {
                MaxSkew = 1,
                TopologyKey = key,
                WhenUnsatisfiable = settings.Mode == SpreadMode.Hard ? "DoNotSchedule" : "ScheduleAnyway",
                LabelSelector = new LabelSelectorArgs { MatchLabels = Labels.Selector(component) },
                MatchLabelKeys = { RevisionKey },
            });
        }

        return constraints;
    }
}
