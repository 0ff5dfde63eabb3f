using System.Collections.Immutable;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Kubernetes.Types.Inputs.Networking.V1;
using CoreV1 = Pulumi.Kubernetes.Core.V1;
using NetworkingV1 = Pulumi.Kubernetes.Networking.V1;

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
    public const int Port = 8000;
    public const string PortName = "sse";
    public const string StreamPath = "/notifications/stream";

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
        var childOptions = new CustomResourceOptions { Parent = this };
        var labels = Labels.For(Component);

        var service = new CoreV1.Service(name, new ServiceArgs
        {
            Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = labels },
            Spec = new ServiceSpecArgs
            {
                Selector = Labels.Selector(Component),
                Ports = { new ServicePortArgs { Name = PortName, Port = Port, TargetPort = PortName } },
            },
        }, childOptions);
        ServiceName = service.Metadata.Apply(m => m.Name);

        if (args.Ingress is { } ingress)
        {
            var spec = new IngressSpecArgs
            {
                Rules =
                {
                    new IngressRuleArgs
                    {
                        Host = args.ServerName,
                        Http = new HTTPIngressRuleValueArgs
                        {
                            Paths =
                            {
                                new HTTPIngressPathArgs
                                {
                                    Path = StreamPath,
                                    PathType = "Prefix",
                                    Backend = new IngressBackendArgs
                                    {
                                        Service = new IngressServiceBackendArgs { Name = ServiceName, Port = new ServiceBackendPortArgs { Name = PortName } },
                                    },
                                },
                            },
                        },
                    },
                },
            };
            if (ingress.ClassName is not null)
            {
                spec.IngressClassName = ingress.ClassName;
            }

            // The web Ingress's certificate covers the host: the Secret is shared, and no certificate
            // annotation is copied, or cert-manager would issue it twice.
            if (ingress.TlsSecretName is not null)
            {
                spec.Tls.Add(new IngressTLSArgs { Hosts = { args.ServerName }, SecretName = ingress.TlsSecretName });
            }

            new NetworkingV1.Ingress(name, new IngressArgs
            {
                Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = labels, Annotations = StreamingAnnotations },
                Spec = spec,
            }, childOptions);
        }

        RegisterOutputs(new Dictionary<string, object?> { ["serviceName"] = ServiceName });
    }

    public Output<string> ServiceName { get; }
}
