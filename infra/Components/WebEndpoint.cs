using System.Collections.Immutable;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Kubernetes.Types.Inputs.Networking.V1;
using CoreV1 = Pulumi.Kubernetes.Core.V1;
using NetworkingV1 = Pulumi.Kubernetes.Networking.V1;

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
    public const int Port = 5000;
    public const string PortName = "http";

    public WebEndpoint(string name, WebEndpointArgs args, ComponentResourceOptions? options = null)
        : base("piefed:app:WebEndpoint", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var childOptions = new CustomResourceOptions { Parent = this };
        var labels = Labels.For("web");

        var service = new CoreV1.Service(name, new ServiceArgs
        {
            Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = labels },
            Spec = new ServiceSpecArgs
            {
                Selector = Labels.Selector("web"),
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
                                    Path = "/",
                                    PathType = "Prefix",
                                    Backend = new IngressBackendArgs
                                    {
                                        Service = new IngressServiceBackendArgs
                                        {
                                            Name = ServiceName,
                                            Port = new ServiceBackendPortArgs { Name = PortName },
                                        },
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

            if (ingress.TlsSecretName is not null)
            {
                spec.Tls.Add(new IngressTLSArgs { Hosts = { args.ServerName }, SecretName = ingress.TlsSecretName });
            }

            new NetworkingV1.Ingress(name, new IngressArgs
            {
                Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = labels, Annotations = ingress.Annotations.ToImmutableDictionary() },
                Spec = spec,
            }, childOptions);
        }

        RegisterOutputs(new Dictionary<string, object?> { ["serviceName"] = ServiceName });
    }

    public Output<string> ServiceName { get; }
}
