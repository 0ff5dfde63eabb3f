using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;

namespace PieFed.Infra.Configuration;

/// <summary>
/// One structured input (e.g. <c>piefed:web</c>) being read, in the JSON form stack configuration
/// gives it and <see cref="InstanceInputs"/> gives a component's. Every problem is recorded
/// against its full key path so that the operator can fix all of them in one go.
/// </summary>
internal sealed class ConfigSection
{
    private readonly JsonElement? _element;
    private readonly ICollection<string> _errors;
    private readonly bool _secret;

    private ConfigSection(string path, JsonElement? element, ICollection<string> errors, bool secret)
    {
        Path = path;
        _element = element;
        _errors = errors;
        _secret = secret;
    }

    public string Path { get; }

    /// <param name="knownFields">The fields the section may hold; none for a map of free names.</param>
    /// <param name="secret">Whether the section holds secrets: its errors then never show a value given.</param>
    public static ConfigSection Parse(string path, string? raw, IReadOnlyCollection<string> knownFields, ICollection<string> errors, bool secret = false)
    {
        if (raw is null)
        {
            return new ConfigSection(path, null, errors, secret);
        }

        JsonElement element;
        try
        {
            using var document = JsonDocument.Parse(raw);
            element = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            errors.Add($"{path}: {Shown(raw, secret)} is not a structured value; expected {ObjectOf(knownFields)}.");
            return new ConfigSection(path, null, errors, secret);
        }

        return FromElement(path, element, knownFields, errors, secret);
    }

    public ConfigSection Section<TArgs>(string field)
        where TArgs : Pulumi.ResourceArgs
        => FromElement($"{Path}.{field}", Field(field), InputShape.Names<TArgs>(), _errors, _secret);

    /// <summary>A field of free names, such as labels or annotations.</summary>
    public ConfigSection MapSection(string field)
        => FromElement($"{Path}.{field}", Field(field), [], _errors, _secret);

    public string? String(string field, string? defaultValue, Func<string, bool> isAllowed, string allowed)
    {
        var value = Field(field);
        if (value is null)
        {
            return defaultValue;
        }

        var text = value.Value.ValueKind switch
        {
            JsonValueKind.String => value.Value.GetString()!,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.Value.GetRawText(),
            _ => null,
        };
        if (text is null || !isAllowed(text))
        {
            _errors.Add($"{Path}.{field}: {Shown(value.Value.GetRawText(), _secret)} is not allowed; expected {allowed}.");
            return defaultValue;
        }

        return text;
    }

    public string? RequiredString(string field, Func<string, bool> isAllowed, string allowed)
    {
        if (Field(field) is null)
        {
            _errors.Add($"{Path}.{field} is required; expected {allowed}.");
            return null;
        }

        return String(field, null, isAllowed, allowed);
    }

    public int Int(string field, int defaultValue, int min, int max)
    {
        var value = Field(field);
        if (value is null)
        {
            return defaultValue;
        }

        // `pulumi config set --path` stores numbers as strings; both spellings mean the same to an operator.
        var parsed = value.Value.ValueKind switch
        {
            JsonValueKind.Number when value.Value.TryGetInt32(out var number) => number,
            JsonValueKind.String when int.TryParse(value.Value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var number) => number,
            _ => (int?)null,
        };
        if (parsed is null || parsed < min || parsed > max)
        {
            _errors.Add($"{Path}.{field}: {Shown(value.Value.GetRawText(), _secret)} is not allowed; expected a whole number from {min} to {max}.");
            return defaultValue;
        }

        return parsed.Value;
    }

    public bool Bool(string field, bool defaultValue)
    {
        var value = Field(field);
        var parsed = value?.ValueKind switch
        {
            null => defaultValue,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when value.Value.GetString() is "true" or "false" => value.Value.GetString() == "true",
            _ => (bool?)null,
        };
        if (parsed is null)
        {
            _errors.Add($"{Path}.{field}: {Shown(value!.Value.GetRawText(), _secret)} is not allowed; expected true or false.");
            return defaultValue;
        }

        return parsed.Value;
    }

    /// <summary>A list of texts, each of them allowed; the default when the field is unset.</summary>
    /// <param name="emptyProblem">Why an empty list is refused, or null when it is allowed.</param>
    public ImmutableArray<string> StringList(string field, ImmutableArray<string> defaultValue, Func<string, bool> isAllowed, string allowed, string? emptyProblem = null)
    {
        var value = Field(field);
        if (value is null)
        {
            return defaultValue;
        }

        if (value.Value.ValueKind != JsonValueKind.Array)
        {
            _errors.Add($"{Path}.{field}: {Shown(value.Value.GetRawText(), _secret)} is not allowed; expected a list, each item {allowed}.");
            return defaultValue;
        }

        if (emptyProblem is not null && value.Value.GetArrayLength() == 0)
        {
            _errors.Add($"{Path}.{field}: {emptyProblem}");
            return defaultValue;
        }

        var items = ImmutableArray.CreateBuilder<string>();
        var index = 0;
        foreach (var item in value.Value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && isAllowed(item.GetString()!))
            {
                items.Add(item.GetString()!);
            }
            else
            {
                _errors.Add($"{Path}.{field}[{index}]: {Shown(item.GetRawText(), _secret)} is not allowed; expected {allowed}.");
            }

            index++;
        }

        return items.ToImmutable();
    }

    /// <summary>Whether this section was given as <c>{}</c>: present, and without a single field.</summary>
    public bool IsEmptyObject => _element is { } element && !element.EnumerateObject().Any();

    /// <summary>Whether the field is present at all, for settings that exclude one another.</summary>
    public bool Has(string field) => Field(field) is not null;

    public IReadOnlyList<KeyValuePair<string, string>> StringMap()
    {
        if (_element is not { } element)
        {
            return [];
        }

        var entries = new List<KeyValuePair<string, string>>();
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null)
            {
                _errors.Add($"{Path}.{property.Name}: {Shown(property.Value.GetRawText(), _secret)} is not allowed; expected a text, number or boolean value.");
                continue;
            }

            var text = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
            entries.Add(new(property.Name, text));
        }

        return entries;
    }

    public void Error(string field, string problem) => _errors.Add($"{Path}.{field}: {problem}");

    private static ConfigSection FromElement(string path, JsonElement? element, IReadOnlyCollection<string> knownFields, ICollection<string> errors, bool secret)
    {
        if (element is not { } value)
        {
            return new ConfigSection(path, null, errors, secret);
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: {Shown(value.GetRawText(), secret)} is not allowed; expected {ObjectOf(knownFields)}.");
            return new ConfigSection(path, null, errors, secret);
        }

        if (knownFields.Count > 0)
        {
            foreach (var property in value.EnumerateObject().Where(p => !knownFields.Contains(p.Name)))
            {
                errors.Add($"{path}.{property.Name} is not a known setting; the known fields are {string.Join(", ", knownFields)}.");
            }
        }

        return new ConfigSection(path, value, errors, secret);
    }

    private static string ObjectOf(IReadOnlyCollection<string> knownFields)
        => knownFields.Count > 0 ? $"an object with the fields {string.Join(", ", knownFields)}" : "an object of names and values";

    private static string Shown(string raw, bool secret) => secret ? "the value given (not shown: it is secret)" : Quote(raw);

    private JsonElement? Field(string field)
        => _element is { } element && element.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    private static string Quote(string raw) => raw.StartsWith('"') ? raw : $"\"{raw}\"";
}
