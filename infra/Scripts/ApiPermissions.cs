using System.Text.RegularExpressions;

namespace PieFed.Infra.Scripts;

/// <summary>What a request needs from RBAC: a verb on a resource (a subresource as "pods/log") of an API group, "" being the core group.</summary>
public sealed record ApiAccess(string Verb, string Resource, string Group);

/// <summary>
/// Reads the permissions a gate script declares in its API_PERMISSIONS literal, one entry per request
/// it makes to the Kubernetes API, so that the Role is built from the script itself and cannot drift
/// from it. Strict on purpose: anything but the plain one-entry-a-line form is refused rather than
/// guessed at, because a misread would grant the wrong permissions.
/// </summary>
public static partial class ApiPermissions
{
    public const string ConstantName = "API_PERMISSIONS";

    private const string Opening = ConstantName + " = {";
    private const string Closing = "}";
    private const string EntryForm = "\"<purpose>\": (\"<verb>\", \"<resource>\", \"<API group>\"),";

    /// <summary>The permissions <paramref name="scriptText"/> declares, in the order it declares them, each once.</summary>
    /// <exception cref="FormatException">The script has no API_PERMISSIONS literal, more than one, or one not in the plain form.</exception>
    public static IReadOnlyList<ApiAccess> DeclaredBy(string scriptText, string fileName)
    {
        ArgumentNullException.ThrowIfNull(scriptText);
        var lines = scriptText.ReplaceLineEndings("\n").Split('\n');
        var openings = lines.Index().Where(line => line.Item == Opening).Select(line => line.Index).ToList();
        if (openings.Count != 1)
        {
            throw new FormatException(
                $"{fileName} must declare the Kubernetes API requests it makes once, opened by a line \"{Opening}\", but has "
                + $"{openings.Count} such lines; the Role of its ServiceAccount is built from that declaration.");
        }

        var purposes = new HashSet<string>(StringComparer.Ordinal);
        var permissions = new List<ApiAccess>();
        for (var index = openings[0] + 1; index < lines.Length; index++)
        {
            var line = lines[index];
            if (line == Closing)
            {
                return permissions.Count > 0
                    ? permissions.Distinct().ToList()
                    : throw new FormatException($"{fileName} declares no permission in {ConstantName}; the gate cannot work without reading its Job.");
            }

            var entry = Entry().Match(line);
            if (!entry.Success)
            {
                throw new FormatException(
                    $"{fileName} line {index + 1}: \"{line}\" is not an entry of {ConstantName} in the form {EntryForm} "
                    + "(indented by four spaces, lower case, no comment), nor its closing \"}\".");
            }

            if (!purposes.Add(entry.Groups["purpose"].Value))
            {
                // Python keeps only the last of two equal keys: the first permission would be granted but never named.
                throw new FormatException($"{fileName} line {index + 1}: {ConstantName} declares \"{entry.Groups["purpose"].Value}\" twice.");
            }

            permissions.Add(new ApiAccess(entry.Groups["verb"].Value, entry.Groups["resource"].Value, entry.Groups["group"].Value));
        }

        throw new FormatException($"{fileName}: {ConstantName} has no closing \"{Closing}\" on a line of its own.");
    }

    [GeneratedRegex("""^    "(?<purpose>[a-z_]+)": \("(?<verb>[a-z]+)", "(?<resource>[a-z]+(/[a-z]+)?)", "(?<group>[a-z0-9.-]*)"\),$""")]
    private static partial Regex Entry();
}
