using System.Collections.Concurrent;
using System.Reflection;
using Pulumi;

namespace PieFed.Infra.Configuration;

/// <summary>
/// The fields of an input type, by the names its <see cref="InputAttribute"/>s give them: the one
/// list of what each section of the configuration may hold, and the names the schema publishes.
/// </summary>
internal static class InputShape
{
    private static readonly ConcurrentDictionary<Type, IReadOnlyList<InputField>> Cache = new();

    public static IReadOnlyList<InputField> Of(Type argsType)
        => Cache.GetOrAdd(argsType, type => [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Name: InputName(p)))
            .Where(p => p.Name is not null)
            // Declaration order, which is the order the manual and the error messages list them in.
            .OrderBy(p => p.Property.MetadataToken)
            .Select(p => new InputField(p.Name!, p.Property))]);

    /// <summary>The name an <see cref="InputAttribute"/> gives, which the SDK keeps internal: its first argument.</summary>
    private static string? InputName(PropertyInfo property)
        => property.GetCustomAttributesData().SingleOrDefault(a => a.AttributeType == typeof(InputAttribute))?.ConstructorArguments[0].Value as string;

    public static IReadOnlyList<string> Names<TArgs>() where TArgs : ResourceArgs
        => [.. Of(typeof(TArgs)).Select(f => f.Name)];
}

internal sealed record InputField(string Name, PropertyInfo Property)
{
    public Type Type => Property.PropertyType;

    /// <summary>A credential: an <see cref="Input{T}"/>, or a map of them.</summary>
    public bool IsSecret => Type == typeof(Input<string>) || Type == typeof(Dictionary<string, Input<string>>);
}
