using System.Collections.Immutable;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Kubernetes.Types.Inputs.Networking.V1;
using NetworkingV1 = Pulumi.Kubernetes.Networking.V1;

namespace PieFed.Infra.Components;

public sealed class NetworkAllowancesArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required NetworkPolicySettings Policy { get; init; }

    /// <summary>Where PostgreSQL and Redis are: bundled pods are allowed by label, external servers by port.</summary>
    public required DataServices DataServices { get; init; }

    /// <summary>The S3 endpoint media goes to, when it is not AWS's: its port is allowed out as well.</summary>
    public string? S3Endpoint { get; init; }

    /// <summary>Whether the notifications service runs, and so needs its own allowance.</summary>
    public required bool Notifications { get; init; }
}

/// <summary>
/// What the pods of an isolated namespace may still do (see <see cref="NetworkIsolation"/>): the
/// ingress controller and the release reach web and notifications; only PieFed's own pods reach the
/// bundled servers; PieFed's pods reach DNS, each other, the Kubernetes API, their databases, the
/// mail server and the internet on HTTP(S), and never a cloud metadata service.
/// </summary>
public sealed class NetworkAllowances : ComponentResource
{
    /// <summary>The component label of the policies themselves.</summary>
    public const string Component = "network-policy";

    /// <summary>The name label every pod of the release carries (<see cref="Labels.Selector"/>).</summary>
    private const string Release = "piefed";


    /// <summary>The bundled servers' ports, as PieFedInstance gives them to their <see cref="BundledServer"/>.</summary>
    private static readonly (string Component, int Port)[] BundledServers = [("postgres", 5432), ("redis", 6379)];

    /// <summary>The ports a release serves on, to the ingress controller and to its own pods.</summary>

    /// <summary>The defaults of PostgreSQL and Redis, for connection URLs the program never sees (an existing Secret).</summary>
    private static readonly int[] DefaultDataPorts = [5432, 6379];

    /// <summary>HTTP and HTTPS: federation with other instances, S3, and whatever PieFed fetches (previews, block lists, community lists).</summary>
    private static readonly int[] WebPorts = [80, 443];

    /// <summary>
    /// The <c>kubernetes</c> Service's 443 and the API server's own port (6443 on kubeadm and k3s):
    /// most network plugins judge a connection to a Service by the endpoint it was translated to.
    /// </summary>
    private static readonly int[] ApiServerPorts = [443, 6443];

    public NetworkAllowances(string name, NetworkAllowancesArgs args, ComponentResourceOptions? options = null)
        : base("piefed:network:NetworkAllowances", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var names = new List<Output<string>>();
        void Policy(string suffix, NetworkPolicySpecArgs spec)
        {
            var policy = new NetworkingV1.NetworkPolicy($"{name}-{suffix}", new NetworkPolicyArgs
            {
                Metadata = new ObjectMetaArgs { Name = $"{name}-{suffix}", Namespace = args.Namespace, Labels = Labels.For(Component) },
                Spec = spec,
            }, new CustomResourceOptions { Parent = this });
            names.Add(policy.Metadata.Apply(m => m.Name));
        }

        foreach (var (component, port) in Served(args))
        {
            Policy(component, Ingress(component, port,
                new NetworkPolicyPeerArgs { NamespaceSelector = new LabelSelectorArgs { MatchLabels = args.Policy.IngressNamespaceSelector.ToImmutableDictionary() } },
                new NetworkPolicyPeerArgs { PodSelector = new LabelSelectorArgs { MatchLabels = { [Labels.Name] = Release } } }));
        }

        var bundled = args.DataServices is BundledDataServices;
        if (bundled)
        {
            foreach (var (component, port) in BundledServers)
            {
                Policy(component, Ingress(component, port, new NetworkPolicyPeerArgs { PodSelector = AppPods() }));
            }
        }

        Policy("egress", new NetworkPolicySpecArgs
        {
            PodSelector = AppPods(),
            PolicyTypes = { "Egress" },
            Egress = Egress(args, bundled),
        });

        PolicyNames = Output.All(names);
        RegisterOutputs(new Dictionary<string, object?> { ["policyNames"] = PolicyNames });
    }

    public Output<ImmutableArray<string>> PolicyNames { get; }

    /// <summary>
    /// The pods that run PieFed's image, whatever their component (web, worker, notifications,
    /// the migration, the scheduled tasks, backups and restores): the release but its bundled servers.
    /// </summary>
    private static LabelSelectorArgs AppPods()
        => new()
        {
            MatchLabels = { [Labels.Name] = Release },
            MatchExpressions =
            {
                new LabelSelectorRequirementArgs
                {
                    Key = Labels.Component,
                    Operator = "NotIn",
                    Values = [.. BundledServers.Select(s => s.Component)],
                },
            },
        };

    private static NetworkPolicySpecArgs Ingress(string component, int port, params NetworkPolicyPeerArgs[] from)
        => new()
        {
            PodSelector = new LabelSelectorArgs { MatchLabels = Labels.Selector(component) },
            PolicyTypes = { "Ingress" },
            Ingress = { new NetworkPolicyIngressRuleArgs { From = from, Ports = { Tcp(port) } } },
        };

    /// <summary>What the release serves over HTTP: web, and the notifications service when it runs.</summary>
    private static (string Component, int Port)[] Served(NetworkAllowancesArgs args)
        => args.Notifications
            ? [("web", PieFedImage.WebPort), (NotificationsEndpoint.Component, PieFedImage.NotificationsPort)]
            : [("web", PieFedImage.WebPort)];

    private static InputList<NetworkPolicyEgressRuleArgs> Egress(NetworkAllowancesArgs args, bool bundled)
    {
        var rules = new InputList<NetworkPolicyEgressRuleArgs>
        {
            // Name resolution, from the cluster DNS (CoreDNS keeps kube-dns's label) in whichever
            // namespace it runs. Stricter: add namespaceSelector kubernetes.io/metadata.name=kube-system.
            new NetworkPolicyEgressRuleArgs
            {
                To =
                {
                    new NetworkPolicyPeerArgs
                    {
                        NamespaceSelector = new LabelSelectorArgs(),
                        PodSelector = new LabelSelectorArgs { MatchLabels = { ["k8s-app"] = "kube-dns" } },
                    },
                },
                Ports =
                {
                    new NetworkPolicyPortArgs { Protocol = "UDP", Port = 53 },
                    new NetworkPolicyPortArgs { Protocol = "TCP", Port = 53 },
                },
            },
            // The counterpart of the release's own allowance to web and notifications.
            new NetworkPolicyEgressRuleArgs
            {
                To =
                {
                    new NetworkPolicyPeerArgs
                    {
                        PodSelector = new LabelSelectorArgs
                        {
                            MatchLabels = { [Labels.Name] = Release },
                            MatchExpressions =
                            {
                                new LabelSelectorRequirementArgs { Key = Labels.Component, Operator = "In", Values = [.. Served(args).Select(s => s.Component)] },
                            },
                        },
                    },
                },
                Ports = [.. Served(args).Select(s => Tcp(s.Port))],
            },
            // The migration gate's init containers read the migration Job.
            new NetworkPolicyEgressRuleArgs
            {
                To = [.. args.Policy.ApiServerCidrs.Select(Block)],
                Ports = [.. ApiServerPorts.Select(Tcp)],
            },
        };

        if (bundled)
        {
            foreach (var (component, port) in BundledServers)
            {
                rules.Add(new NetworkPolicyEgressRuleArgs
                {
                    To = { new NetworkPolicyPeerArgs { PodSelector = new LabelSelectorArgs { MatchLabels = Labels.Selector(component) } } },
                    Ports = { Tcp(port) },
                });
            }
        }

        // Outside the cluster: an external server's address is a host name, which a policy cannot
        // name, so its port is allowed to any address but the metadata services.
        var outsidePorts = new SortedSet<int>(WebPorts);
        switch (args.DataServices)
        {
            case ExternalDataServices external:
                outsidePorts.Add(external.Database.Port);
                outsidePorts.Add(external.Redis.Port);
                break;
            case DataServicesInExistingSecret:
                outsidePorts.UnionWith(DefaultDataPorts);
                break;
        }

        if (args.Policy.MailPort is { } mailPort)
        {
            outsidePorts.Add(mailPort);
        }

        if (args.S3Endpoint is { } endpoint)
        {
            outsidePorts.Add(new Uri(endpoint).Port);
        }

        rules.Add(new NetworkPolicyEgressRuleArgs
        {
            To = { Block("0.0.0.0/0"), Block("::/0") },
            Ports = [.. outsidePorts.Select(Tcp)],
        });
        return rules;
    }

    /// <summary>An address range with every metadata range inside it cut out.</summary>
    private static NetworkPolicyPeerArgs Block(string cidr)
    {
        var network = System.Net.IPNetwork.Parse(cidr);
        var block = new IPBlockArgs { Cidr = cidr };
        foreach (var range in NetworkPolicySettings.MetadataRanges.Where(m => network.PrefixLength < m.PrefixLength && network.Contains(m.BaseAddress)))
        {
            block.Except.Add(range.ToString());
        }

        return new NetworkPolicyPeerArgs { IpBlock = block };
    }

    private static NetworkPolicyPortArgs Tcp(int port) => new() { Protocol = "TCP", Port = port };
}
