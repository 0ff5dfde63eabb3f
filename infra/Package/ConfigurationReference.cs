using System.Text.RegularExpressions;

namespace PieFed.Infra.Package;

/// <summary>
/// What each input and output means, read from README.md's tables ("Configuration reference",
/// "Stack outputs"), which the assembly embeds: the one text that the operator reads and that the
/// package's schema gives every SDK's doc comments. A row may name several keys; a nested field
/// without a row of its own is described by the nearest row above it (<c>web.resources</c> for
/// <c>web.resources.requests.cpu</c>).
/// </summary>
internal static partial class ConfigurationReference
{
    private const string ResourceName = "PieFed.Infra.README.md";

    /// <summary>README.md, read once for both tables (declared first: static initialisers run in order).</summary>
    private static readonly string[] ReadmeLines = ReadReadme();

    /// <summary>Each input key (<c>web.autoscaling.minReplicas</c>) with its row's text, in Markdown.</summary>
    public static IReadOnlyDictionary<string, string> Inputs { get; } = Rows("## Configuration reference");

    /// <summary>Each output of the instance with its row's text.</summary>
    public static IReadOnlyDictionary<string, string> Outputs { get; } = Rows("## Stack outputs");

    /// <summary>The description of an input key, from its row or the nearest row above it; null when none describes it.</summary>
    public static string? DescribeInput(string key)
    {
        for (var path = key; ; path = path[..path.LastIndexOf('.')])
        {
            if (Inputs.TryGetValue(path, out var description))
            {
                return description;
            }

            if (!path.Contains('.', StringComparison.Ordinal))
            {
                return null;
            }
        }
    }

    private static string[] ReadReadme()
    {
        using var stream = typeof(ConfigurationReference).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{ResourceName} is not embedded in the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }

    private static Dictionary<string, string> Rows(string heading)
    {
        var lines = ReadmeLines;
        var start = Array.FindIndex(lines, l => l.TrimEnd() == heading);
        if (start < 0)
        {
            throw new InvalidDataException($"README.md has no \"{heading}\" section.");
        }

        var rows = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)).Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            var cells = line.Trim().Trim('|').Split(" | ");
            var keys = Keys(cells[0]);
            var text = cells.Length switch
            {
                2 => cells[1].Trim(),
                _ when keys.Count == 1 => $"{cells[2].Trim()} (default: {cells[1].Trim()})",
                _ => $"{cells[0].Trim()} (defaults {cells[1].Trim()}): {cells[2].Trim()}",
            };
            foreach (var key in keys)
            {
                rows.TryAdd(key, text);
            }
        }

        return rows;
    }

    /// <summary>The keys a row names: <c>`web.autoscaling.enabled`, `.minReplicas`</c> is web.autoscaling.enabled and web.autoscaling.minReplicas.</summary>
    private static List<string> Keys(string cell)
    {
        var keys = new List<string>();
        foreach (Match code in CodeSpan().Matches(cell))
        {
            var key = code.Groups["key"].Value;
            keys.Add(key.StartsWith('.') && keys.Count > 0 ? keys[^1][..keys[^1].LastIndexOf('.')] + key : key);
        }

        return keys;
    }

    [GeneratedRegex("`(?<key>[^`]+)`")]
    private static partial Regex CodeSpan();
}
