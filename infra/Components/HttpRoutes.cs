using System.Collections.Immutable;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Kubernetes.Types.Inputs.Networking.V1;
using CoreV1 = Pulumi.Kubernetes.Core.V1;
using NetworkingV1 = Pulumi.Kubernetes.Networking.V1;

namespace PieFed.Infra.Components;

/// <summary>How HTTP reaches one of PieFed's servers: a Service on its named port, and a path of the instance's host on the Ingress class.</summary>
internal static class HttpRoutes
{
    public static CoreV1.Service Service(string name, Input<string> ns, string component, int port, string portName, Resource parent)
        => new(name, new ServiceArgs
        {
            Metadata = new ObjectMetaArgs { Name = name, Namespace = ns, Labels = Labels.For(component) },
            Spec = new ServiceSpecArgs
            {
                Selector = Labels.Selector(component),
                Ports = { new ServicePortArgs { Name = portName, Port = port, TargetPort = portName } },
            },
        }, new CustomResourceOptions { Parent = parent });

    public static NetworkingV1.Ingress Ingress(
        string name, Input<string> ns, string component, string serverName, string path, Output<string> serviceName, string portName,
        IngressSettings ingress, ImmutableDictionary<string, string> annotations, Resource parent)
    {
        var spec = new IngressSpecArgs
        {
            Rules =
            {
                new IngressRuleArgs
                {
                    Host = serverName,
                    Http = new HTTPIngressRuleValueArgs
                    {
                        Paths =
                        {
                            new HTTPIngressPathArgs
                            {
                                Path = path,
                                PathType = "Prefix",
                                Backend = new IngressBackendArgs
                                {
                                    Service = new IngressServiceBackendArgs { Name = serviceName, Port = new ServiceBackendPortArgs { Name = portName } },
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
            spec.Tls.Add(new IngressTLSArgs { Hosts = { serverName }, SecretName = ingress.TlsSecretName });
        }

        return new NetworkingV1.Ingress(name, new IngressArgs
        {
            Metadata = new ObjectMetaArgs { Name = name, Namespace = ns, Labels = Labels.For(component), Annotations = annotations },
            Spec = spec,
        }, new CustomResourceOptions { Parent = parent });
    }
}
