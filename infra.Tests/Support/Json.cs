using System.Collections.Immutable;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PieFed.Infra.Tests.Support;

/// <summary>Mock inputs as JSON, with keys sorted, so that tests can query them by path.</summary>
internal static class Json
{
    /// <summary>Writes text as it is (no \u escapes), so that a search for a value finds it.</summary>
    public static readonly JsonSerializerOptions Unescaped = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static JsonObject From(ImmutableDictionary<string, object> inputs) => (JsonObject)Node(inputs)!;

    private static JsonNode? Node(object? value) => value switch
    {
        null => null,
        ImmutableDictionary<string, object> map => new JsonObject(map
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Node(p.Value)))),
        ImmutableArray<object> list => new JsonArray(list.Select(Node).ToArray()),
        string text => JsonValue.Create(text),
        bool flag => JsonValue.Create(flag),
        double number => JsonValue.Create(number),
        int number => JsonValue.Create(number),
        _ => throw new InvalidOperationException($"Unexpected input value of type {value.GetType()}."),
    };
}
