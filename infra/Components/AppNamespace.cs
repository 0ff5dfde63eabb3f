using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using CoreV1 = Pulumi.Kubernetes.Core.V1;

namespace PieFed.Infra.Components;

public sealed class AppNamespaceArgs : ResourceArgs
{
    public required string Name { get; init; }
}

/// <summary>The namespace every other part of the instance lives in.</summary>
public sealed class AppNamespace : ComponentResource
{
    public AppNamespace(string name, AppNamespaceArgs args, ComponentResourceOptions? options = null)
        : base("piefed:core:AppNamespace", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);

        var ns = new CoreV1.Namespace(name, new NamespaceArgs
        {
            Metadata = new ObjectMetaArgs
            {
                Name = args.Name,
                Labels = Labels.For("namespace"),
            },
        }, new CustomResourceOptions { Parent = this });

        Name = ns.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?> { ["name"] = Name });
    }

    public Output<string> Name { get; }
}
