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
        var settings = SettingsLoader.Load();
        var kubernetes = KubernetesProvider($"{InstanceName}-kubernetes", settings);
        var instance = new PieFedInstance(InstanceName, new PieFedInstanceArgs { Settings = settings }, new ComponentResourceOptions
        {
            Providers = { kubernetes },
        });
        // Which cluster the stack talks to, never how it authenticates.
        return new Dictionary<string, object?>(instance.Outputs) { ["kubernetesContext"] = ContextShown(settings) };
    }

    private static string ContextShown(PieFedSettings settings) => settings switch
    {
        { Render: not null } => "(none: render mode writes YAML)",
        { Cluster.Context: { } context } => context,
        _ => "(the kubeconfig's current context)",
    };

    /// <summary>
    /// One explicit provider for every Kubernetes object, from the first deployment on, so that
    /// render mode and adoption are settings of that provider rather than a change of provider.
    /// It talks to the cluster of <c>kubernetes:context</c> (required in production), or writes YAML instead.
    /// </summary>
    private static Kubernetes.Provider KubernetesProvider(string name, PieFedSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var args = new Kubernetes.ProviderArgs();
        if (settings.Cluster.Context is { } context)
        {
            args.Context = context;
        }

        if (settings.Cluster.Kubeconfig is { } kubeconfig)
        {
            args.KubeConfig = kubeconfig;
        }

        if (settings.Render is { } render)
        {
            args.RenderYamlToDirectory = render.Directory;
        }

        if (settings.Adoption.UpsertExistingObjects)
        {
            args.UpsertExistingObjects = true;
        }

        return new Kubernetes.Provider(name, args);
    }
}
