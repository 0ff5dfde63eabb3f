using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Apps.V1;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Random;
using AppsV1 = Pulumi.Kubernetes.Apps.V1;
using CoreV1 = Pulumi.Kubernetes.Core.V1;

namespace PieFed.Infra.Components;

public sealed class BundledServerArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    /// <summary>"postgres" or "redis": the component label.</summary>
    public required string Component { get; init; }

    public required string Image { get; init; }

    public required int Port { get; init; }

    /// <summary>The image's own unprivileged user, so the pod meets the restricted standard.</summary>
    public required int RunAsUser { get; init; }

    /// <summary>The environment variable the server reads its generated password from.</summary>
    public required string PasswordVariable { get; init; }

    public IReadOnlyList<EnvVarArgs> Environment { get; init; } = [];

    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>A shell command that succeeds once the server answers; Pulumi waits for it before the migration.</summary>
    public required string ReadinessCommand { get; init; }

    public required string DataPath { get; init; }

    public required BundledDataServices Settings { get; init; }

    public required ResourceSettings Resources { get; init; }

    /// <summary>A replaced password would lock the app out of data that keeps the old one: protect it with the data.</summary>
    public bool ProtectPassword { get; init; }
}

/// <summary>
/// A single-replica server for development stacks (PostgreSQL or Redis) in the instance's own
/// namespace, with a generated password and its data on a PersistentVolumeClaim that outlives the
/// StatefulSet.
/// </summary>
public sealed class BundledServer : ComponentResource
{
    public BundledServer(string name, BundledServerArgs args, ComponentResourceOptions? options = null)
        : base("piefed:data:BundledServer", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var childOptions = new CustomResourceOptions { Parent = this };
        var labels = Labels.For(args.Component);

        Password = new RandomPassword($"{name}-password", new RandomPasswordArgs { Length = 32, Special = false },
            new CustomResourceOptions { Parent = this, Protect = args.ProtectPassword }).Result;
        var credentials = new CoreV1.Secret($"{name}-credentials", new SecretArgs
        {
            Metadata = new ObjectMetaArgs { Namespace = args.Namespace, Labels = labels },
            StringData = { ["password"] = Password },
        }, childOptions);

        var service = new CoreV1.Service(name, new ServiceArgs
        {
            Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = labels },
            Spec = new ServiceSpecArgs
            {
                Selector = Labels.Selector(args.Component),
                Ports = { new ServicePortArgs { Name = args.Component, Port = args.Port, TargetPort = args.Component } },
            },
        }, childOptions);

        var environment = new InputList<EnvVarArgs>
        {
            new EnvVarArgs
            {
                Name = args.PasswordVariable,
                ValueFrom = new EnvVarSourceArgs
                {
                    SecretKeyRef = new SecretKeySelectorArgs { Name = credentials.Metadata.Apply(m => m.Name), Key = "password" },
                },
            },
        };
        environment.AddRange(args.Environment.ToArray());

        var pod = Security.PodSpec(args.RunAsUser);
        pod.Containers.Add(new ContainerArgs
        {
            Name = args.Component,
            Image = args.Image,
            Args = args.Args.ToArray(),
            Env = environment,
            Ports = { new ContainerPortArgs { Name = args.Component, ContainerPortValue = args.Port } },
            ReadinessProbe = new ProbeArgs
            {
                Exec = new ExecActionArgs { Command = { "sh", "-c", args.ReadinessCommand } },
                PeriodSeconds = 5,
                TimeoutSeconds = 5,
            },
            VolumeMounts = { new VolumeMountArgs { Name = "data", MountPath = args.DataPath } },
            Resources = AppRuntime.Limits(args.Resources),
            SecurityContext = Security.Container(),
        });

        new AppsV1.StatefulSet(name, new StatefulSetArgs
        {
            Metadata = new ObjectMetaArgs { Name = name, Namespace = args.Namespace, Labels = labels },
            Spec = new StatefulSetSpecArgs
            {
                ServiceName = service.Metadata.Apply(m => m.Name),
                Replicas = 1,
                Selector = new LabelSelectorArgs { MatchLabels = Labels.Selector(args.Component) },
                // Deleting or scaling the server never deletes its data.
                PersistentVolumeClaimRetentionPolicy = new StatefulSetPersistentVolumeClaimRetentionPolicyArgs
                {
                    WhenDeleted = "Retain",
                    WhenScaled = "Retain",
                },
                Template = new PodTemplateSpecArgs
                {
                    Metadata = new ObjectMetaArgs { Labels = labels },
                    Spec = pod,
                },
                VolumeClaimTemplates =
                {
                    new PersistentVolumeClaimArgs
                    {
                        Metadata = new ObjectMetaArgs { Name = "data", Labels = labels },
                        Spec = new PersistentVolumeClaimSpecArgs
                        {
                            AccessModes = { "ReadWriteOnce" },
                            StorageClassName = args.Settings.StorageClass is null ? null : (Input<string>)args.Settings.StorageClass,
                            Resources = new VolumeResourceRequirementsArgs { Requests = { ["storage"] = args.Settings.StorageSize } },
                        },
                    },
                },
            },
        }, childOptions);

        Host = service.Metadata.Apply(m => $"{m.Name}.{m.Namespace}.svc");
        RegisterOutputs(new Dictionary<string, object?> { ["host"] = Host });
    }

    /// <summary>The server's in-cluster DNS name.</summary>
    public Output<string> Host { get; }

    public Output<string> Password { get; }
}
