using System.Globalization;
using System.Text.Json;
using Pulumi;

namespace PieFed.Infra.Configuration;

/// <summary>
/// Inputs in configuration form, already checked by <see cref="InstanceSettings"/>, turned into
/// the component's typed inputs: the inverse of <see cref="InstanceInputs.FromArgs"/>.
/// </summary>
internal static class InputBinding
{
    public static PieFedInstanceArgs Bind(InstanceInputs inputs)
    {
        var args = new PieFedInstanceArgs();
        foreach (var field in InputShape.Of(typeof(PieFedInstanceArgs)))
        {
            if (inputs.Get(field.Name) is not { } raw)
            {
                continue;
            }

            field.Property.SetValue(args, field.Type switch
            {
                var t when t == typeof(Input<string>) => (Input<string>)inputs.Secret(field.Name)!.Value,
                var t when t == typeof(Dictionary<string, Input<string>>) => Parse(raw).EnumerateObject()
                    .ToDictionary(e => e.Name, e => (Input<string>)inputs.Secret($"{field.Name}.{e.Name}")!.Value),
                var t when t == typeof(string) => raw,
                var t when t == typeof(bool?) => raw == "true",
                _ => Value(Parse(raw), field.Type),
            });
        }

        return args;
    }

    private static JsonElement Parse(string raw)
    {
        using var document = JsonDocument.Parse(raw);
        return document.RootElement.Clone();
    }

    /// <summary>A value as <see cref="ConfigSection"/> accepts it: numbers and booleans may be given as text, and text as numbers.</summary>
    private static object? Value(JsonElement value, Type type)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (type == typeof(string))
        {
            return Text(value);
        }

        if (type == typeof(int?))
        {
            return value.ValueKind == JsonValueKind.Number ? value.GetInt32() : int.Parse(value.GetString()!, NumberStyles.None, CultureInfo.InvariantCulture);
        }

        if (type == typeof(bool?))
        {
            return value.ValueKind == JsonValueKind.String ? value.GetString() == "true" : value.GetBoolean();
        }

        if (type == typeof(Dictionary<string, string>))
        {
            return value.EnumerateObject().ToDictionary(e => e.Name, e => Text(e.Value));
        }

        if (type == typeof(List<string>))
        {
            return value.EnumerateArray().Select(Text).ToList();
        }

        var section = (ResourceArgs)Activator.CreateInstance(type)!;
        foreach (var field in InputShape.Of(type))
        {
            if (value.TryGetProperty(field.Name, out var fieldValue))
            {
                field.Property.SetValue(section, Value(fieldValue, field.Type));
            }
        }

        return section;
    }

    private static string Text(JsonElement value)
        => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
}
