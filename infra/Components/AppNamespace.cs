using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using CoreV1 = Pulumi.Kubernetes.Core.V1;

namespace PieFed.Infra.Components;

public sealed class AppNamespaceArgs : ResourceArgs
{
    public required string Name { get; init; }
}

/// <summary>
/// The namespace every other part of the instance lives in. It enforces the "restricted" Pod
/// Security Standard, so a pod that could escalate is refused rather than run.
/// </summary>
public sealed class AppNamespace : ComponentResource
{
    public AppNamespace(string name, AppNamespaceArgs args, ComponentResourceOptions? options = null)
        : base("piefed:core:AppNamespace", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);

        var labels = Labels.For("namespace")
            .Add("pod-security.kubernetes.io/enforce", "restricted")
            .Add("pod-security.kubernetes.io/enforce-version", "latest")
            .Add("pod-security.kubernetes.io/warn", "restricted")
            .Add("pod-security.kubernetes.io/audit", "restricted");
        var ns = new CoreV1.Namespace(name, new NamespaceArgs
        {
            Metadata = new ObjectMetaArgs { Name = args.Name, Labels = labels },
        }, new CustomResourceOptions { Parent = this });

        Name = ns.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?> { ["name"] = Name });
    }

    public Output<string> Name { get; }
}
