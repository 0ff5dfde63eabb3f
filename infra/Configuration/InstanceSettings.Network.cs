using System.Collections.Immutable;
using System.Globalization;

namespace PieFed.Infra.Configuration;

/// <summary>How the instance meets the network: its Ingress, its spread over nodes and zones, its NetworkPolicies.</summary>
internal static partial class InstanceSettings
{
    /// <summary>ingress-nginx's namespace, by the label Kubernetes puts on every namespace.</summary>
    private static readonly ImmutableSortedDictionary<string, string> DefaultIngressNamespaceSelector =
        ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal).Add("kubernetes.io/metadata.name", "ingress-nginx");

    /// <summary>Anywhere but the metadata ranges, until the operator narrows it to the API server's endpoints.</summary>
    private static readonly ImmutableArray<string> DefaultApiServerCidrs = ["0.0.0.0/0"];

    private static SpreadSettings ReadSpread(ConfigSection section, DeploymentEnvironment? environment)
    {
        var mode = section.String("mode", "soft", SpreadModes.Contains,
            OneOf(SpreadModes) + " (soft prefers other nodes and zones, hard leaves a pod Pending rather than stack it, disabled lets the scheduler choose)");
        return new SpreadSettings(
            mode switch
            {
                "hard" => SpreadMode.Hard,
                "disabled" => SpreadMode.Disabled,
                _ => SpreadMode.Soft,
            },
            // A pod that spreads by zone is scored on labelled nodes only: on a cluster without zone
            // labels (local clusters, most bare metal) it would not spread at all. Production
            // clusters in a cloud carry them; development ones mostly do not.
            section.Bool("zones", environment == DeploymentEnvironment.Production));
    }

    /// <summary>
    /// Isolation is production's default; a development stack is disposable, and not every local
    /// cluster's network plugin enforces NetworkPolicies at all.
    /// </summary>
    private static NetworkPolicySettings? ReadNetworkPolicy(
        ConfigSection section, DeploymentEnvironment? environment, ImmutableSortedDictionary<string, string> appEnvironment, List<string> errors)
    {
        var enabled = section.Bool("enabled", environment == DeploymentEnvironment.Production);
        var selector = ReadNamespaceSelector(section);
        var apiServerCidrs = section.StringList("apiServerCidrs", DefaultApiServerCidrs, IsPermittedCidr,
            "a CIDR in canonical form (host bits zero), such as \"10.0.0.1/32\" or \"172.20.0.0/16\", not inside the cloud metadata ranges "
            + string.Join(" and ", NetworkPolicySettings.MetadataRanges),
            "an empty list leaves the migration gate's init containers no way to the Kubernetes API, so every pod would wait in Init;"
            + " expected the API server's endpoints (`kubectl get endpoints kubernetes -n default`) as CIDRs, e.g. [\"10.0.0.1/32\"].");

        var mailPort = ReadMailPort(appEnvironment, errors);
        return enabled ? new NetworkPolicySettings(selector, apiServerCidrs, mailPort) : null;
    }

    private static ImmutableSortedDictionary<string, string> ReadNamespaceSelector(ConfigSection networkPolicy)
    {
        const string field = "ingressNamespaceSelector";
        if (!networkPolicy.Has(field))
        {
            return DefaultIngressNamespaceSelector;
        }

        var section = networkPolicy.MapSection(field);
        var labels = section.StringMap();
        if (section.IsEmptyObject)
        {
            networkPolicy.Error(field, "an empty selector would let every namespace reach the web pods; expected the labels of the ingress controller's namespace,"
                + " e.g. {\"kubernetes.io/metadata.name\": \"ingress-nginx\"}.");
        }

        foreach (var (key, value) in labels)
        {
            if (!IsLabelKey(key))
            {
                section.Error(key, "is not a label key; expected an optional DNS subdomain and '/' followed by a name of at most 63 letters, digits, '-', '_' or '.',"
                    + " beginning and ending with a letter or digit, e.g. \"kubernetes.io/metadata.name\".");
            }
            else if (!LabelValue().IsMatch(value))
            {
                section.Error(key, $"\"{value}\" is not a label value; expected at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit, or empty.");
            }
        }

        return labels.ToImmutableSortedDictionary(StringComparer.Ordinal);
    }

    private static int? ReadMailPort(ImmutableSortedDictionary<string, string> appEnvironment, List<string> errors)
    {
        var port = DefaultMailPort;
        if (appEnvironment.TryGetValue("MAIL_PORT", out var text)
            && !(int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535))
        {
            errors.Add($"{ConfigNamespace}:env.MAIL_PORT: \"{text}\" is not allowed; expected the mail server's port, a whole number from 1 to 65535.");
            return null;
        }

        return appEnvironment.ContainsKey("MAIL_SERVER") ? port : null;
    }

    private static bool IsLabelKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0
            ? LabelName().IsMatch(key)
            : DnsSubdomain().IsMatch(key[..slash]) && LabelName().IsMatch(key[(slash + 1)..]);
    }

    /// <summary>A CIDR exactly as Kubernetes will show it, that no rule could reach a metadata service through.</summary>
    private static bool IsPermittedCidr(string value)
        => System.Net.IPNetwork.TryParse(value, out var network)
            && network.ToString() == value
            // A CIDR around a metadata range gets it as an exception; one inside it cannot.
            && !NetworkPolicySettings.MetadataRanges.Any(m => m.Contains(network.BaseAddress) && network.PrefixLength >= m.PrefixLength);

    private static IngressSettings? ReadIngress(ConfigSection section)
    {
        var enabled = section.Bool("enabled", false);
        var className = section.String("className", null, DnsSubdomain().IsMatch, "the name of an IngressClass");
        var tlsSecretName = section.String("tlsSecretName", null, DnsSubdomain().IsMatch, "the name of a TLS Secret in the namespace");
        var annotations = section.MapSection("annotations").StringMap();
        return enabled
            ? new IngressSettings(className, tlsSecretName, annotations.ToImmutableSortedDictionary(StringComparer.Ordinal))
            : null;

    }

    private static readonly string[] SpreadModes = ["soft", "hard", "disabled"];

    /// <summary>
    /// SMTP's port, which PieFed uses when MAIL_SERVER is set without MAIL_PORT
    /// (config.py at v1.7.7: <c>MAIL_PORT = int(os.environ.get('MAIL_PORT') or 25)</c>).
    /// </summary>
    private const int DefaultMailPort = 25;
}
