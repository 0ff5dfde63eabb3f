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
        return new PieFedInstance(InstanceName, new PieFedInstanceArgs { Settings = settings }, new ComponentResourceOptions
        {
            Providers = { kubernetes },
        }).Outputs;
    }

    /// <summary>
    /// One explicit provider for every Kubernetes object, from the first deployment on, so that
    /// render mode and adoption are settings of that provider rather than a change of provider.
    /// It talks to the cluster of the current kubeconfig context, or writes YAML instead.
    /// </summary>
    private static Kubernetes.Provider KubernetesProvider(string name, PieFedSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var args = new Kubernetes.ProviderArgs();
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
