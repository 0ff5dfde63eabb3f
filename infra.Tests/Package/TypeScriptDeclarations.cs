using System.Text;
using System.Text.Json.Nodes;

namespace PieFed.Infra.Tests.Package;

/// <summary>
/// The declarations a TypeScript user's SDK gives the package, derived from the checked-in schema
/// as Pulumi's Node.js generator derives them (pulumi/pulumi pkg/codegen/nodejs): an object type
/// per schema type, required properties without <c>?</c>, a property not marked <c>plain</c>
/// wrapped in <c>pulumi.Input</c>, outputs as <c>pulumi.Output</c>, each with its description as a
/// doc comment. Only the types are generated, which is all the compiler checks an example against.
/// </summary>
internal static class TypeScriptDeclarations
{
    public static string From(JsonObject schema)
    {
        var component = SchemaTests.Component(schema);
        var text = new StringBuilder("import * as pulumi from \"@pulumi/pulumi\";\n\n");
        foreach (var (token, type) in schema["types"]!.AsObject())
        {
            Interface(text, ArgsName(token), type!.AsObject(), "properties", "required");
        }

        Interface(text, "PieFedInstanceArgs", component, "inputProperties", "requiredInputs");
        text.Append("export declare class PieFedInstance extends pulumi.ComponentResource {\n");
        foreach (var (name, property) in component["properties"]!.AsObject())
        {
            DocComment(text, property!.AsObject());
            text.Append($"    readonly {name}: pulumi.Output<{TypeOf(property.AsObject())}>;\n");
        }

        text.Append("    constructor(name: string, args: PieFedInstanceArgs, opts?: pulumi.ComponentResourceOptions);\n}\n");
        return text.ToString();
    }

    private static void Interface(StringBuilder text, string name, JsonObject type, string propertiesKey, string requiredKey)
    {
        var required = type[requiredKey]?.AsArray().Select(r => r!.GetValue<string>()).ToHashSet(StringComparer.Ordinal) ?? [];
        text.Append($"export interface {name} {{\n");
        foreach (var (property, schema) in type[propertiesKey]!.AsObject())
        {
            var optional = required.Contains(property) ? "" : "?";
            DocComment(text, schema!.AsObject());
            text.Append($"    {property}{optional}: {InputTypeOf(schema.AsObject())};\n");
        }

        text.Append("}\n\n");
    }

    private static string InputTypeOf(JsonObject property)
        => property["plain"]?.GetValue<bool>() == true ? TypeOf(property, input: true) : $"pulumi.Input<{TypeOf(property, input: true)}>";

    private static string TypeOf(JsonObject property, bool input = false)
    {
        if (property["$ref"]?.GetValue<string>() is { } reference)
        {
            return ArgsName(reference["#/types/".Length..]);
        }

        Func<JsonObject, string> element = input ? InputTypeOf : p => TypeOf(p);
        return property["type"]!.GetValue<string>() switch
        {
            "string" => "string",
            "integer" or "number" => "number",
            "boolean" => "boolean",
            "array" => $"{element(property["items"]!.AsObject())}[]",
            "object" => $"{{[key: string]: {element(property["additionalProperties"]!.AsObject())}}}",
            var other => throw new InvalidDataException($"The schema has a property of type {other}, which this derivation does not know."),
        };
    }

    /// <summary>The description as the generator writes it, a JSDoc comment: what an editor shows on hover.</summary>
    private static void DocComment(StringBuilder text, JsonObject property)
    {
        if (property["description"]?.GetValue<string>() is { } description)
        {
            text.Append($"    /**\n     * {description.Replace("*/", "*\\/", StringComparison.Ordinal)}\n     */\n");
        }
    }

    /// <summary><c>piefed:index:Image</c> is <c>ImageArgs</c>.</summary>
    private static string ArgsName(string token) => token.Split(':')[^1] + "Args";
}
