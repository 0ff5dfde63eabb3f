using PieFed.Infra.Configuration;
using PieFed.Infra.Tests.Package;
using PieFed.Infra.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace PieFed.Infra.Tests;

/// <summary>
/// <c>Pulumi.yaml</c>'s <c>config:</c> and <c>template:</c>, checked against the program's inputs
/// and against what the CLI does with them (pulumi/pulumi pkg/workspace/config.go, mergeConfig): a
/// declared key without a default is required in every stack, and a default is filled into every
/// stack that lacks the key.
/// </summary>
public sealed class ProjectFileTests
{
    private static readonly YamlMappingNode Project = Load();

    private static readonly Dictionary<string, InputField> Inputs =
        InputShape.Of(typeof(PieFedInstanceArgs)).ToDictionary(f => $"{InstanceSettings.ConfigNamespace}:{f.Name}");

    /// <summary>How the program's value of each key with a declared default is read.</summary>
    private static readonly Dictionary<string, Func<PieFedSettings, string>> ProgramValues = new()
    {
        ["piefed:namespace"] = settings => settings.Namespace,
    };

    public static TheoryData<string> DeclaredKeys => [.. Declarations(Project, "config").Keys];

    [Theory]
    [MemberData(nameof(DeclaredKeys))]
    public async Task EveryDeclaredKey_IsAnInputOfTheTypeTheCliChecksAndSaysWhatItIs(string key)
    {
        var declaration = Declarations(Project, "config")[key];
        var input = Assert.Contains(key, Inputs);

        // The CLI type-checks only a declared type, and knows no objects: a structured input has none.
        Assert.Equal(input.Type == typeof(string) ? "string" : null, Scalar(declaration, "type"));
        // The CLI shows the same text as every SDK's doc comment: README.md's row, through the package's schema.
        var schemaDescription = (string?)(await SchemaTests.ServedSchemaJsonAsync())["resources"]!["piefed:index:PieFedInstance"]!["inputProperties"]![input.Name]!["description"];
        Assert.Equal(schemaDescription, Scalar(declaration, "description"));
        Assert.Null(Scalar(declaration, "secret"));
    }

    [Theory]
    [MemberData(nameof(DeclaredKeys))]
    public void EveryDeclaredKey_LeavesEachCommittedStackMeaningWhatItMeant(string key)
    {
        var declaration = Declarations(Project, "config")[key];
        var fieldName = key[(InstanceSettings.ConfigNamespace.Length + 1)..];
        if (Scalar(declaration, "default") is { } declaredDefault)
        {
            // Filled into a stack that lacks the key, the default must be what the program assumes anyway.
            var programValue = Assert.Contains(key, ProgramValues);
            Assert.Equal(programValue(StackConfig.Dev.With(fieldName, null).Settings()), declaredDefault);
            Assert.Equal(programValue(StackConfig.Dev.With(fieldName, declaredDefault).Settings()), declaredDefault);
        }
        else
        {
            // Required by the CLI in every stack: so it must be by the program, and every committed stack sets it.
            var error = Assert.Throws<InvalidConfigException>(() => StackConfig.Dev.With(fieldName, null).Settings());
            // A structured key is required through its required field (piefed:image.tag).
            Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(key)}(\.[A-Za-z]+)? is required", error.Message);
            foreach (var stack in new[] { "dev", "prod" })
            {
                Assert.True(StackFileKeys(stack).Contains(key), $"Pulumi.{stack}.yaml does not set {key}, which Pulumi.yaml makes required");
            }
        }
    }

    [Fact]
    public async Task PulumiNew_MakesADevStackThatDeploysWithNoFurtherEdits()
    {
        // `pulumi new <repository URL>` copies the stack files and writes the answers (the
        // template's defaults, if the newcomer just presses Enter) into the new stack's file.
        var config = StackConfig.Dev;
        foreach (var (key, declaration) in Declarations(Assert.IsType<YamlMappingNode>(Project.Children[new YamlScalarNode("template")]), "config"))
        {
            Assert.Contains(key, Inputs);
            config = config.With(key[(InstanceSettings.ConfigNamespace.Length + 1)..], Scalar(declaration, "default") ?? throw new Xunit.Sdk.XunitException($"{key} has no default to accept"));
        }

        var run = await StackRun.ProgramAsync(config);

        Assert.Equal("piefed.localhost", Assert.Single(run.OfType(StackRun.ConfigMapType), c => c.Name == "piefed-config-env").Inputs.Str("data.SERVER_NAME"));
    }

    private static YamlMappingNode Load()
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(Path.Combine(AppContext.BaseDirectory, "Stacks", "Pulumi.yaml")))
        {
            yaml.Load(reader);
        }

        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static Dictionary<string, YamlMappingNode> Declarations(YamlMappingNode parent, string section)
        => Assert.IsType<YamlMappingNode>(parent.Children[new YamlScalarNode(section)]).Children
            .ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => Assert.IsType<YamlMappingNode>(c.Value));

    private static string? Scalar(YamlMappingNode node, string key)
        => node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;

    private static HashSet<string> StackFileKeys(string stack)
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(Path.Combine(AppContext.BaseDirectory, "Stacks", $"Pulumi.{stack}.yaml")))
        {
            yaml.Load(reader);
        }

        var config = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode).Children[new YamlScalarNode("config")];
        return [.. config.Children.Keys.Select(k => ((YamlScalarNode)k).Value!)];
    }
}
