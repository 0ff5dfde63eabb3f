using System.Collections.Immutable;

namespace PieFed.Infra.Components;

/// <summary>The recommended Kubernetes labels, so that kubectl selectors and dashboards find every part.</summary>
internal static class Labels
{
    public const string Name = "app.kubernetes.io/name";
    public const string Component = "app.kubernetes.io/component";
    public const string ManagedBy = "app.kubernetes.io/managed-by";

    /// <summary>Deployment selectors are immutable: they carry only what never changes.</summary>
    public static ImmutableDictionary<string, string> Selector(string component)
        => ImmutableDictionary<string, string>.Empty
            .Add(Name, "piefed")
            .Add(Component, component);

    /// <summary>
    /// <see cref="Selector"/> as the API's labelSelector parameter writes it, in a fixed order: a dictionary's order
    /// can differ between runs, and a pod spec that carries this must not.
    /// </summary>
    public static string SelectorQuery(string component)
        => string.Join(',', Selector(component).OrderBy(label => label.Key, StringComparer.Ordinal).Select(label => $"{label.Key}={label.Value}"));

    public static ImmutableDictionary<string, string> For(string component)
        => Selector(component).Add(ManagedBy, "pulumi");
}
