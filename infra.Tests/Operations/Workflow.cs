using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace PieFed.Infra.Tests.Operations;

/// <summary>
/// A GitHub Actions workflow file, read from the copy the build places beside the tests, so the
/// tests judge the bytes GitHub runs and not a restatement of them.
/// </summary>
internal sealed partial class Workflow
{
    private Workflow(string fileName, string text, YamlMappingNode root)
    {
        FileName = fileName;
        Text = text;
        Root = root;
        Jobs = Mapping(root, "jobs")?.Children
            .Select(c => new WorkflowJob(((YamlScalarNode)c.Key).Value!, (YamlMappingNode)c.Value))
            .ToArray() ?? [];
    }

    public string FileName { get; }

    public string Text { get; }

    public YamlMappingNode Root { get; }

    public IReadOnlyList<WorkflowJob> Jobs { get; }

    public static string PathOf(string fileName) => Path.Combine(AppContext.BaseDirectory, "Workflows", fileName);

    public static Workflow Load(string fileName)
    {
        var path = PathOf(fileName);
        var text = File.ReadAllText(path);
        var yaml = new YamlStream();
        using (var reader = new StringReader(text))
        {
            yaml.Load(reader);
        }

        Assert.Single(yaml.Documents);
        return new Workflow(fileName, text, Assert.IsType<YamlMappingNode>(yaml.Documents[0].RootNode));
    }

    /// <summary>The events of <c>on:</c>, whichever of its three shapes (scalar, list, map) is used.</summary>
    public IReadOnlyList<string> Triggers => Node(Root, "on") switch
    {
        YamlScalarNode scalar => [scalar.Value!],
        YamlSequenceNode sequence => [.. sequence.Children.Select(Scalar)],
        YamlMappingNode mapping => [.. mapping.Children.Keys.Select(Scalar)],
        _ => [],
    };

    public YamlMappingNode? Trigger(string name) => Mapping(Mapping(Root, "on"), name);

    public WorkflowJob Job(string id)
        => Jobs.SingleOrDefault(j => j.Id == id)
            ?? throw new Xunit.Sdk.XunitException($"{FileName} has no job '{id}'; it has {string.Join(", ", Jobs.Select(j => j.Id))}.");

    public static YamlNode? Node(YamlNode? parent, string key)
        => parent is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    public static YamlMappingNode? Mapping(YamlNode? parent, string key) => Node(parent, key) as YamlMappingNode;

    public static string? String(YamlNode? parent, string key) => (Node(parent, key) as YamlScalarNode)?.Value;

    public static string Scalar(YamlNode node) => Assert.IsType<YamlScalarNode>(node).Value!;

    /// <summary>Every scalar under a node, keys included: where an expression could name a secret.</summary>
    public static IEnumerable<string> Scalars(YamlNode? node) => node switch
    {
        YamlScalarNode scalar => [scalar.Value ?? ""],
        YamlSequenceNode sequence => sequence.Children.SelectMany(Scalars),
        YamlMappingNode mapping => mapping.Children.SelectMany(c => Scalars(c.Key).Concat(Scalars(c.Value))),
        _ => [],
    };

    /// <summary>The names of the secrets that expressions under a node read; an indexed read counts as "[]".</summary>
    public static HashSet<string> SecretsReadBy(YamlNode? node)
        => Scalars(node)
            .SelectMany(s => SecretReference().Matches(s))
            .Select(m => m.Groups["name"].Success ? m.Groups["name"].Value.ToUpperInvariant() : "[]")
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>A shell script as bash reads it: continued lines joined, runs of blanks made one space.</summary>
    public static string Shell(string script) => Blanks().Replace(script.Replace("\\\n", " ", StringComparison.Ordinal), " ");

    [GeneratedRegex(@"\bsecrets\s*(\.\s*(?<name>[A-Za-z_][A-Za-z0-9_-]*)|\[)")]
    private static partial Regex SecretReference();

    [GeneratedRegex(@"[ \t]+")]
    private static partial Regex Blanks();
}

internal sealed record WorkflowJob(string Id, YamlMappingNode Node)
{
    public IReadOnlyList<string> Needs => Workflow.Node(Node, "needs") switch
    {
        YamlScalarNode scalar => [scalar.Value!],
        YamlSequenceNode sequence => [.. sequence.Children.Select(Workflow.Scalar)],
        _ => [],
    };

    public string? If => Workflow.String(Node, "if");

    public IReadOnlyList<YamlMappingNode> Steps
        => (Workflow.Node(Node, "steps") as YamlSequenceNode)?.Children.Cast<YamlMappingNode>().ToArray() ?? [];

    /// <summary>The <c>run:</c> scripts of the steps, in order, as bash reads them.</summary>
    public IReadOnlyList<string> Scripts
        => [.. Steps.Select(s => Workflow.String(s, "run")).OfType<string>().Select(Workflow.Shell)];

    public int IndexOfStep(Func<YamlMappingNode, bool> predicate)
        => Steps.Select((step, index) => (step, index)).FirstOrDefault(s => predicate(s.step), (null!, -1)).Item2;

    public IReadOnlyList<YamlMappingNode> StepsUsing(string action)
        => [.. Steps.Where(s => Workflow.String(s, "uses")?.StartsWith(action + "@", StringComparison.Ordinal) == true)];
}
