using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Kubernetes.Types.Inputs.Networking.V1;
using NetworkingV1 = Pulumi.Kubernetes.Networking.V1;

namespace PieFed.Infra.Components;

public sealed class NetworkIsolationArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }
}

/// <summary>
/// Default deny: a NetworkPolicy that selects every pod of the namespace and allows nothing, in
/// either direction, so that whatever <see cref="NetworkAllowances"/> does not allow is refused,
/// for pods that exist today and for any added later. A network plugin without NetworkPolicy
/// support accepts the object and enforces nothing.
/// </summary>
public sealed class NetworkIsolation : ComponentResource
{
    public NetworkIsolation(string name, NetworkIsolationArgs args, ComponentResourceOptions? options = null)
        : base("piefed:network:NetworkIsolation", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var policy = new NetworkingV1.NetworkPolicy(name, new NetworkPolicyArgs
        {
            Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = Labels.For(NetworkAllowances.Component) },
            Spec = new NetworkPolicySpecArgs
            {
                PodSelector = new LabelSelectorArgs(),
                PolicyTypes = { "Ingress", "Egress" },
            },
        }, new CustomResourceOptions { Parent = this });

        PolicyName = policy.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?> { ["policyName"] = PolicyName });
    }

    public Output<string> PolicyName { get; }
}
