using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pulumi.Experimental;
using Pulumi.Experimental.Provider;

namespace PieFed.Infra.Package;

/// <summary>
/// PieFed as a Pulumi package: <see cref="PieFedInstance"/> served to programs in any Pulumi
/// language, which add it with <c>pulumi package add</c> and use it as <c>piefed:index:PieFedInstance</c>.
/// </summary>
/// <remarks>
/// Served by the SDK's own <see cref="ComponentProvider"/> (schema inferred from the component's
/// inputs and outputs, Construct that deserialises them) rather than through
/// <c>ComponentProviderHost.Serve</c>, which (pulumi-dotnet v3.112.1,
/// sdk/Pulumi/Provider/ComponentProviderHost.cs) always reports version 0.0.0 and serves every
/// component of the assembly: this one's building blocks are components too, and not part of the
/// package's contract.
/// </remarks>
public static class PieFedPackage
{
    /// <summary>The package's name, which is also the stack's configuration namespace.</summary>
    public const string Name = "piefed";

    /// <summary>
    /// The package's semantic version, the project's <c>Version</c>; a release is tagged
    /// <c>v&lt;version&gt;</c>. Removing or renaming an input, or changing what one means, is a major
    /// version; adding an input or an output, a minor one; anything else, a patch.
    /// </summary>
    public static string Version { get; } = typeof(PieFedPackage).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    public static Metadata Metadata { get; } = new(Name, Version: Version, DisplayName: "PieFed");

    public static ComponentProvider Provider() => new PieFedProvider();

    /// <summary>The provider's entry point: answers the Pulumi engine until it is told to stop.</summary>
    public static Task Serve(string[] args)
        => Pulumi.Experimental.Provider.Provider.Serve(args, Version, _ => Provider(), CancellationToken.None);

    private sealed class PieFedProvider() : ComponentProvider(typeof(PieFedInstance).Assembly, Metadata, [typeof(PieFedInstance)])
    {
        /// <summary>
        /// The SDK infers the schema's shape (pulumi-dotnet v3.112.1, ComponentAnalyzer) but has no
        /// descriptions: each input, nested field and output gets its row of README.md, so that the
        /// SDKs generated from it document them.
        /// </summary>
        public override async Task<GetSchemaResponse> GetSchema(GetSchemaRequest request, CancellationToken ct)
        {
            var inferred = await base.GetSchema(request, ct);
            var schema = JsonNode.Parse(inferred.Schema ?? throw new InvalidOperationException("The SDK inferred no schema."))!.AsObject();
            var component = schema["resources"]![$"{Name}:index:{nameof(PieFedInstance)}"]!.AsObject();
            var types = schema["types"]!.AsObject();
            var described = new HashSet<string>(StringComparer.Ordinal);
            Describe(component["inputProperties"]!.AsObject(), "", types, described);
            foreach (var (name, output) in component["properties"]!.AsObject())
            {
                Describe(output!.AsObject(), ConfigurationReference.Outputs.GetValueOrDefault(name));
            }

            return new GetSchemaResponse { Schema = schema.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) };
        }

        private static void Describe(JsonObject properties, string prefix, JsonObject types, HashSet<string> described)
        {
            foreach (var (name, property) in properties)
            {
                var key = prefix + name;
                var reference = property!["$ref"]?.GetValue<string>();
                var fields = reference is null ? null : types[reference["#/types/".Length..]]!["properties"]!.AsObject();
                // A structured input has rows for its fields only: it lists them.
                Describe(property.AsObject(), ConfigurationReference.DescribeInput(key)
                    ?? (fields is null ? null : $"The `{key}` settings: {string.Join(", ", fields.Select(f => $"`{f.Key}`"))}, each described on its own."));
                if (reference is not null && described.Add(reference))
                {
                    Describe(fields!, key + ".", types, described);
                }
            }
        }

        private static void Describe(JsonObject property, string? description)
        {
            if (description is not null)
            {
                property["description"] = description;
            }
        }

        /// <summary>
        /// The SDK creates the component by reflection, which wraps whatever its constructor throws;
        /// the engine shows an error's message only, so the instance's own (which names every bad
        /// input) is the one passed on.
        /// </summary>
        public override async Task<ConstructResponse> Construct(ConstructRequest request, CancellationToken ct)
        {
            ArgumentNullException.ThrowIfNull(request);
            // The SDK's deserialiser drops what the args do not declare: a misspelt input would be
            // deployed as its default in silence. Refused here, as the stack refuses it, before
            // anything is registered.
            var unknown = UnknownInputs(typeof(PieFedInstanceArgs), request.Inputs, Configuration.InstanceSettings.ConfigNamespace + ":");
            if (unknown.Count > 0)
            {
                throw new Configuration.InvalidConfigException($"PieFedInstance \"{request.Name}\" has {unknown.Count} invalid input(s); nothing was registered", unknown);
            }

            try
            {
                return await base.Construct(request, ct);
            }
            catch (TargetInvocationException wrapped) when (wrapped.InnerException is { } error)
            {
                ExceptionDispatchInfo.Throw(error);
                throw;
            }
        }

        /// <summary>Every input, at any depth, that the input types do not declare, worded as the stack words a misspelt field.</summary>
        private static List<string> UnknownInputs(Type argsType, IReadOnlyDictionary<string, PropertyValue> inputs, string path)
        {
            var fields = Configuration.InputShape.Of(argsType);
            var known = fields.Select(f => f.Name).ToList();
            var problems = new List<string>();
            foreach (var (name, value) in inputs)
            {
                var field = fields.SingleOrDefault(f => f.Name == name);
                if (field is null)
                {
                    problems.Add($"{path}{name} is not a known setting; the known fields are {string.Join(", ", known)}.");
                }
                else if (typeof(Pulumi.ResourceArgs).IsAssignableFrom(field.Type) && value.TryGetMap(out var section))
                {
                    problems.AddRange(UnknownInputs(field.Type, section, $"{path}{name}."));
                }
            }

            return problems;
        }
    }
}
