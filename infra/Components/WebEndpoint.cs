using System.Collections.Immutable;
using PieFed.Infra.Configuration;
using Pulumi;

namespace PieFed.Infra.Components;

public sealed class WebEndpointArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required string ServerName { get; init; }

    public IngressSettings? Ingress { get; init; }
}

/// <summary>How traffic reaches the web pods: a Service on gunicorn's port 5000, and optionally an Ingress for the server name.</summary>
public sealed class WebEndpoint : ComponentResource
{
    public const string PortName = "http";

    public WebEndpoint(string name, WebEndpointArgs args, ComponentResourceOptions? options = null)
        : base("piefed:app:WebEndpoint", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        ServiceName = HttpRoutes.Service(name, args.Namespace, "web", PieFedImage.WebPort, PortName, this).Metadata.Apply(m => m.Name);
        if (args.Ingress is { } ingress)
        {
            HttpRoutes.Ingress(name, args.Namespace, "web", args.ServerName, "/", ServiceName, PortName, ingress, ingress.Annotations.ToImmutableDictionary(), this);
        }

        RegisterOutputs(new Dictionary<string, object?> { ["serviceName"] = ServiceName });
    }

    public Output<string> ServiceName { get; }
}
