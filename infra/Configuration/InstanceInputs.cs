using System.Text.Json.Nodes;
using Pulumi;
using Pulumi.Utilities;

namespace PieFed.Infra.Configuration;

/// <summary>
/// An instance's inputs as the validation reads them, whoever gave them: the stack's
/// configuration, or a program that uses the component (in any language, through the package).
/// </summary>
/// <param name="Get">A top-level input as stack configuration spells it: text, or a structured value's JSON; null when unset.</param>
/// <param name="Secret">A credential by key (<c>databasePassword</c>, <c>secretEnv.MAIL_PASSWORD</c>); null when unset.</param>
internal sealed record InstanceInputs(Func<string, string?> Get, Func<string, SecretInput?> Secret)
{
    public static InstanceInputs FromArgs(PieFedInstanceArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var fields = InputShape.Of(typeof(PieFedInstanceArgs));
        string? Get(string key)
        {
            var field = fields.Single(f => f.Name == key);
            return field.Property.GetValue(args) switch
            {
                null => null,
                // The validator reads a secret map's names; its values stay Inputs, read through Secret.
                Dictionary<string, Input<string>> secrets => new JsonObject(secrets.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)JsonValue.Create("")))).ToJsonString(),
                var value => ToJson(value) switch
                {
                    JsonValue scalar when scalar.TryGetValue<string>(out var text) => text,
                    var node => node!.ToJsonString(),
                },
            };
        }

        SecretInput? Secret(string key)
        {
            var (name, entry) = key.Split('.', 2) is [var top, var rest] ? (top, rest) : (key, null);
            var input = fields.Single(f => f.Name == name).Property.GetValue(args) switch
            {
                Input<string> value when entry is null => value,
                Dictionary<string, Input<string>> map when entry is not null => map.GetValueOrDefault(entry),
                _ => null,
            };
            // Whatever it was given, the component treats a credential as a secret.
            return input is null ? null : new SecretInput(Output.CreateSecret(input.ToOutput()), KnownNow(input));
        }

        return new InstanceInputs(Get, Secret);
    }

    /// <summary>A plain input as JSON, in the shape stack configuration gives it.</summary>
    internal static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        string text => JsonValue.Create(text),
        bool flag => JsonValue.Create(flag),
        int number => JsonValue.Create(number),
        IDictionary<string, string> map => new JsonObject(map.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)JsonValue.Create(e.Value)))),
        IEnumerable<string> items => new JsonArray([.. items.Select(i => (JsonNode?)JsonValue.Create(i))]),
        ResourceArgs section => new JsonObject(InputShape.Of(section.GetType())
            .Select(f => KeyValuePair.Create(f.Name, ToJson(f.Property.GetValue(section))))
            .Where(e => e.Value is not null)),
        _ => throw new InvalidOperationException($"An input of type {value.GetType().Name} has no configuration form."),
    };

    /// <summary>
    /// The value of an input that is known while the component is being constructed (a literal,
    /// stack configuration, a value passed through the package), or null when another resource
    /// computes it: such a value is checked by the one that computes it.
    /// </summary>
    private static string? KnownNow(Input<string> input)
    {
        var output = input.ToOutput();
        var known = OutputUtilities.GetIsKnownAsync(output);
        var value = OutputUtilities.GetValueAsync(output);
        return known.IsCompletedSuccessfully && known.Result && value.IsCompletedSuccessfully ? value.Result : null;
    }
}

/// <param name="Known">The value, when it is known before anything is registered; null otherwise.</param>
internal sealed record SecretInput(Output<string> Value, string? Known);
