using Pulumi;

namespace PieFed.Infra.Inputs;

public sealed class IngressArgs : ResourceArgs
{
    [Input("enabled")]
    public bool? Enabled { get; set; }

    [Input("className")]
    public string? ClassName { get; set; }

    [Input("tlsSecretName")]
    public string? TlsSecretName { get; set; }

    [Input("annotations")]
    public Dictionary<string, string>? Annotations { get; set; }
}

/// <summary>Taking over an instance deployed with the old YAML setup.</summary>
public sealed class AdoptionArgs : ResourceArgs
{
    /// <summary>Use the old setup's object names where they differ (the RBAC's <c>piefed-init-checker</c>).</summary>
    [Input("legacyNames")]
    public bool? LegacyNames { get; set; }
}

/// <summary>How strictly replicas are kept on different nodes (and zones): "soft", "hard" or "disabled".</summary>
public sealed class SpreadArgs : ResourceArgs
{
    [Input("mode")]
    public string? Mode { get; set; }

    [Input("zones")]
    public bool? Zones { get; set; }
}

/// <summary>NetworkPolicies that deny every pod of the namespace all traffic but what PieFed needs.</summary>
public sealed class NetworkPolicyArgs : ResourceArgs
{
    [Input("enabled")]
    public bool? Enabled { get; set; }

    [Input("ingressNamespaceSelector")]
    public Dictionary<string, string>? IngressNamespaceSelector { get; set; }

    [Input("apiServerCidrs")]
    public List<string>? ApiServerCidrs { get; set; }
}

/// <summary>The administrator that the first install creates; its password is <c>adminPassword</c>.</summary>
public sealed class AdminArgs : ResourceArgs
{
    /// <summary>The administrator's user name: 3 to 50 letters, digits or '_'.</summary>
    [Input("userName")]
    public string? UserName { get; set; }

    [Input("email")]
    public string? Email { get; set; }
}
