using System.Collections.Immutable;
using PieFed.Infra.Configuration;
using Pulumi;

namespace PieFed.Infra.Components;

public sealed class NotificationsEndpointArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required string ServerName { get; init; }

    /// <summary>The web Ingress's class and TLS Secret; null without an Ingress.</summary>
    public IngressSettings? Ingress { get; init; }
}

/// <summary>
/// How browsers reach PieFed's notifications service: a Service on uvicorn's port 8000 and, with an
/// Ingress, the path <c>/notifications/stream</c> on the instance's host, as upstream's reverse proxy
/// routes it. An Ingress of its own, so that it carries the settings a Server-Sent Events stream
/// needs without imposing them on the web pages.
/// </summary>
public sealed class NotificationsEndpoint : ComponentResource
{
    public const string Component = "notifications";
    public const string PortName = "sse";

    /// <summary>
    /// ingress-nginx buffers responses and closes a proxied connection after 60 s of silence; the
    /// service sends a heartbeat every 60 s (fastapi_server.py), and a stream lives for hours.
    /// </summary>
    public static readonly ImmutableDictionary<string, string> StreamingAnnotations = ImmutableDictionary.CreateRange(
    [
        KeyValuePair.Create("nginx.ingress.kubernetes.io/proxy-buffering", "off"),
        KeyValuePair.Create("nginx.ingress.kubernetes.io/proxy-read-timeout", "3600"),
        KeyValuePair.Create("nginx.ingress.kubernetes.io/proxy-send-timeout", "3600"),
    ]);

    public NotificationsEndpoint(string name, NotificationsEndpointArgs args, ComponentResourceOptions? options = null)
        : base("piefed:app:NotificationsEndpoint", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        ServiceName = HttpRoutes.Service(name, args.Namespace, Component, PieFedImage.NotificationsPort, PortName, this).Metadata.Apply(m => m.Name);
        // The web Ingress's certificate covers the host: its TLS Secret is shared, and no certificate
        // annotation is copied, or cert-manager would issue it twice.
        if (args.Ingress is { } ingress)
        {
            HttpRoutes.Ingress(name, args.Namespace, Component, args.ServerName, PieFedImage.NotificationsStreamPath, ServiceName, PortName, ingress, StreamingAnnotations, this);
        }

        RegisterOutputs(new Dictionary<string, object?> { ["serviceName"] = ServiceName });
    }

    public Output<string> ServiceName { get; }
}
