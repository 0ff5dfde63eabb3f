using PieFed.Infra.Configuration;
using Pulumi;
using Kubernetes = Pulumi.Kubernetes;

namespace PieFed.Infra;

/// <summary>The program's body, callable from the unit tests as from <c>Program.cs</c>.</summary>
public static class PieFedProgram
{
    public const string InstanceName = "piefed";

    public static IDictionary<string, object?> Run()
    {
        var stack = StackConfiguration.Read();
        var kubernetes = KubernetesProvider($"{InstanceName}-kubernetes", stack.Provider);
        var instance = new PieFedInstance(InstanceName, stack.Instance, new ComponentResourceOptions
        {
            Providers = { kubernetes },
        });
        return new Dictionary<string, object?>
        {
            // What `pulumi stack output` shows: the names an operator types into kubectl ...
            ["namespace"] = instance.Namespace,
            ["migrationJobName"] = instance.MigrationJobName,
            ["webDeploymentName"] = instance.WebDeploymentName,
            ["workerDeploymentName"] = instance.WorkerDeploymentName,
            ["webServiceName"] = instance.WebServiceName,
            // ... the administrator to log in as after the first install (`pulumi stack output adminPassword --show-secrets`) ...
            ["adminUserName"] = instance.AdminUserName,
            ["adminPassword"] = instance.AdminPassword,
            // ... and which cluster the stack talks to, never how it authenticates.
            ["kubernetesContext"] = ContextShown(stack.Provider),
        };
    }

    private static string ContextShown(ProviderSettings provider) => provider switch
    {
        { Render: not null } => "(none: render mode writes YAML)",
        { Context: { } context } => context,
        _ => "(the kubeconfig's current context)",
    };

    /// <summary>
    /// One explicit provider for every Kubernetes object, from the first deployment on, so that
    /// render mode and adoption are settings of that provider rather than a change of provider.
    /// It talks to the cluster of <c>kubernetes:context</c> (required in production), or writes YAML instead.
    /// </summary>
    private static Kubernetes.Provider KubernetesProvider(string name, ProviderSettings settings)
    {
        var args = new Kubernetes.ProviderArgs();
        if (settings.Context is { } context)
        {
            args.Context = context;
        }

        if (settings.Kubeconfig is { } kubeconfig)
        {
            args.KubeConfig = kubeconfig;
        }

        if (settings.Render is { } render)
        {
            args.RenderYamlToDirectory = render.Directory;
        }

        if (settings.UpsertExistingObjects)
        {
            args.UpsertExistingObjects = true;
        }

        return new Kubernetes.Provider(name, args);
    }
}
