using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PieFed.Infra.Configuration;
using Pulumi.Experimental;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PieFed.Infra.Tests.Support;

/// <summary>
/// A stack's configuration as the Pulumi CLI hands it to the program: the <c>PULUMI_CONFIG</c>
/// JSON, built from the real <c>Pulumi.&lt;stack&gt;.yaml</c> plus the secrets an operator would
/// have set with <c>pulumi config set --secret</c>.
/// </summary>
internal sealed class StackConfig
{
    /// <summary>Characters that must be escaped in a connection URL, to prove they are.</summary>
    public const string DatabasePassword = "db/pass@word:%?";

    private readonly ImmutableDictionary<string, JsonNode?> _values;

    /// <summary>Credentials set without --secret, as an operator might by mistake.</summary>
    private ImmutableHashSet<string> _plaintext = [];

    private StackConfig(ImmutableDictionary<string, JsonNode?> values) => _values = values;

    public string StackName { get; private init; } = "test";

    public static StackConfig Dev => FromStackFile("dev");

    public static StackConfig Prod => FromStackFile("prod").With("databasePassword", DatabasePassword);

    public static StackConfig FromStackFile(string stack)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Stacks", $"Pulumi.{stack}.yaml");
        var yaml = new YamlStream();
        using (var reader = File.OpenText(path))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var config = (YamlMappingNode)root.Children[new YamlScalarNode("config")];
        var values = ImmutableDictionary.CreateBuilder<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (key, value) in config.Children)
        {
            var fullKey = ((YamlScalarNode)key).Value!;
            var prefix = InstanceSettings.ConfigNamespace + ":";
            if (fullKey.StartsWith(prefix, StringComparison.Ordinal))
            {
                values[fullKey[prefix.Length..]] = ToJson(value);
            }
            else if (fullKey.StartsWith(KubernetesPrefix, StringComparison.Ordinal))
            {
                values[fullKey] = ToJson(value);
            }
            else
            {
                throw new InvalidDataException($"{path}: {fullKey} is outside the {prefix} and {KubernetesPrefix} namespaces the program reads.");
            }
        }

        return new StackConfig(values.ToImmutable()) { StackName = stack };
    }

    private const string KubernetesPrefix = StackConfiguration.KubernetesConfigNamespace + ":";

    /// <summary>
    /// Sets (or, with null, removes) a top-level <c>piefed:</c> key, or a <c>kubernetes:</c> key by its
    /// full name. A credential is stored encrypted, as <c>pulumi config set --secret</c> stores it.
    /// </summary>
    public StackConfig With(string key, object? value)
        => new(value is null ? _values.Remove(key) : _values.SetItem(key, JsonSerializer.SerializeToNode(value)))
        {
            StackName = StackName,
            _plaintext = _plaintext.Remove(key),
        };

    /// <summary>Sets a credential as <c>pulumi config set</c> without <c>--secret</c> would: in plaintext.</summary>
    public StackConfig WithPlaintext(string key, string value)
    {
        var config = With(key, value);
        config._plaintext = _plaintext.Add(key);
        return config;
    }

    /// <summary>The keys the CLI lists as stored encrypted (PULUMI_CONFIG_SECRET_KEYS): every credential set, unless set in plaintext.</summary>
    public string ToEncryptedKeysJson()
    {
        var secretFields = InputShape.Of(typeof(PieFedInstanceArgs)).Where(f => f.IsSecret).Select(f => f.Name);
        var encrypted = secretFields.Where(k => _values.ContainsKey(k) && !_plaintext.Contains(k)).Select(k => $"{InstanceSettings.ConfigNamespace}:{k}");
        return new JsonArray([.. encrypted.Order(StringComparer.Ordinal).Select(k => JsonValue.Create(k))]).ToJsonString();
    }

    /// <summary>Sets (or, with null, removes) a field inside a structured key, e.g. ("image", "tag", "latest").</summary>
    public StackConfig WithField(string key, string dottedPath, object? value)
    {
        var root = _values.TryGetValue(key, out var existing) && existing is JsonObject existingObject
            ? (JsonObject)existingObject.DeepClone()
            : new JsonObject();
        var parts = dottedPath.Split('.');
        var parent = root;
        foreach (var part in parts[..^1])
        {
            if (parent[part] is not JsonObject child)
            {
                child = new JsonObject();
                parent[part] = child;
            }

            parent = child;
        }

        if (value is null)
        {
            parent.Remove(parts[^1]);
        }
        else
        {
            parent[parts[^1]] = JsonSerializer.SerializeToNode(value);
        }

        return new StackConfig(_values.SetItem(key, root)) { StackName = StackName, _plaintext = _plaintext };
    }

    /// <summary>The settings the program reads from this configuration.</summary>
    public PieFedSettings Settings()
    {
        var json = JsonNode.Parse(ToPulumiConfigJson())!.AsObject();
        var stack = StackConfiguration.Read(
            key => json[$"{InstanceSettings.ConfigNamespace}:{key}"]?.GetValue<string>(),
            getKubernetes: key => json[$"{KubernetesPrefix}{key}"]?.GetValue<string>());
        return stack.Instance;
    }

    /// <summary>
    /// The same instance as a program using the package declares it (a Pulumi YAML program, say):
    /// the <c>piefed:*</c> keys as the component's inputs, credentials as secrets, and none of the
    /// keys that configure the stack's Kubernetes provider.
    /// </summary>
    public ImmutableDictionary<string, PropertyValue> PackageInputs()
    {
        var inputs = ImmutableDictionary.CreateBuilder<string, PropertyValue>();
        foreach (var field in InputShape.Of(typeof(PieFedInstanceArgs)))
        {
            var value = _values.GetValueOrDefault(field.Name) is { } node ? ToPropertyValue(node) : null;
            if (field.Name == "adoption" && value is not null && value.TryGetMap(out var adoption))
            {
                value = new PropertyValue(adoption.Remove("upsertExistingObjects"));
            }

            if (value is not null)
            {
                inputs[field.Name] = field.IsSecret && field.Type == typeof(Pulumi.Input<string>) ? value.WithSecret(true)
                    : field.IsSecret && value.TryGetMap(out var entries) ? new PropertyValue(entries.ToImmutableDictionary(e => e.Key, e => e.Value.WithSecret(true)))
                    : value;
            }
        }

        return inputs.ToImmutable();
    }

    /// <summary>A configuration value as the engine sends it to a component.</summary>
    public static PropertyValue ToPropertyValue(JsonNode node) => node switch
    {
        JsonObject map => new PropertyValue(map.ToImmutableDictionary(e => e.Key, e => ToPropertyValue(e.Value!))),
        JsonArray items => new PropertyValue(items.Select(i => ToPropertyValue(i!)).ToImmutableArray()),
        _ => node.GetValueKind() switch
        {
            JsonValueKind.True => new PropertyValue(true),
            JsonValueKind.False => new PropertyValue(false),
            JsonValueKind.Number => new PropertyValue(double.Parse(node.ToJsonString(), CultureInfo.InvariantCulture)),
            _ => new PropertyValue(node.GetValue<string>()),
        },
    };

    /// <summary>The keys as the CLI passes them: every value a string, structured ones as JSON text.</summary>
    public string ToPulumiConfigJson()
    {
        var json = new JsonObject();
        foreach (var (key, value) in _values)
        {
            json[key.StartsWith(KubernetesPrefix, StringComparison.Ordinal) ? key : $"{InstanceSettings.ConfigNamespace}:{key}"] = value switch
            {
                JsonValue scalar when scalar.TryGetValue<string>(out var text) => text,
                null => null,
                _ => value.ToJsonString(),
            };
        }

        return json.ToJsonString();
    }

    /// <summary>A value of a Pulumi YAML file as the CLI reads it.</summary>
    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(
            c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new InvalidOperationException($"Unexpected YAML node {node.NodeType}."),
    };

    // Plain YAML scalars are typed like the CLI types them; quoted ones stay text.
    private static JsonValue Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is ScalarStyle.Plain)
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            {
                return JsonValue.Create(number);
            }

            if (text is "true" or "false")
            {
                return JsonValue.Create(text == "true");
            }
        }

        return JsonValue.Create(text);
    }
}
