using System.Text.Json;
using System.Text.RegularExpressions;
using PieFed.Infra.Package;
using PieFed.Infra.Tests.Support;
using Pulumi.Experimental.Provider;
using Pulumi.Testing;
using YamlDotNet.RepresentationModel;

namespace PieFed.Infra.Tests.Package;

/// <summary>
/// The examples for users of other languages. Without a Pulumi CLI here, the YAML program's
/// resource is constructed through the provider with exactly its properties (the closest stand-in
/// for Pulumi YAML, which sends them to Construct as they are), and the TypeScript program, whose
/// SDK the CLI generates, is checked against the schema that SDK is generated from.
/// </summary>
public sealed partial class ExampleTests
{
    private static string Example(params string[] path) => Path.Combine([AppContext.BaseDirectory, "Examples", .. path]);

    private static YamlMappingNode LoadYaml(string path)
    {
        var yaml = new YamlStream();
        using var reader = File.OpenText(path);
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlNode At(YamlNode node, params string[] keys)
        => keys.Aggregate(node, (current, key) => ((YamlMappingNode)current).Children[new YamlScalarNode(key)]);

    [Fact]
    public async Task TheYamlExampleDeploysADevelopmentInstance()
    {
        var program = LoadYaml(Example("yaml", "Pulumi.yaml"));
        Assert.Equal("piefed:index:PieFedInstance", At(program, "resources", "piefed", "type").ToString());
        var inputs = StackConfig.ToPropertyValue(StackConfig.ToJson(At(program, "resources", "piefed", "properties"))!).TryGetMap(out var map) ? map : throw new InvalidDataException();

        var mocks = new RecordingMocks();
        Exception? error = null;
        await MockDeployments.RunAsync(() => Pulumi.Deployment.TestAsync(mocks.Mock.Object, new TestOptions { IsPreview = true, StackName = "dev", ProjectName = "piefed-yaml" }, async () =>
        {
            var request = new ConstructRequest("piefed:index:PieFedInstance", "piefed", map, new Pulumi.ComponentResourceOptions());
            error = await Record.ExceptionAsync(() => PieFedPackage.Provider().Construct(request, CancellationToken.None));
        }));

        Assert.Null(error);
        Assert.Equal(["notifications", "web", "worker"], mocks.Registrations.Where(r => r.Type == StackRun.DeploymentType).Select(d => d.Inputs.Str("metadata.labels['app.kubernetes.io/component']")).Order(StringComparer.Ordinal));
        Assert.Equal(2, mocks.Registrations.Count(r => r.Type == StackRun.StatefulSetType));
        Assert.Single(mocks.Registrations, r => r.Type == StackRun.JobType);
    }

    [Fact]
    public async Task TheYamlExampleReadsOnlyOutputsTheComponentHas()
    {
        var program = LoadYaml(Example("yaml", "Pulumi.yaml"));
        var outputs = ((YamlMappingNode)At(program, "outputs")).Children.Values.Select(v => OutputReference().Match(v.ToString()).Groups["output"].Value);

        Assert.Empty(outputs.Except(await SchemaOutputsAsync()));
        Assert.Equal("../../provider", At(program, "packages", "piefed").ToString());
    }

    [Fact]
    public async Task TheTypeScriptExampleUsesOnlyTheSchemasInputsAndOutputs()
    {
        var source = await File.ReadAllTextAsync(Example("typescript", "index.ts"));
        var schema = await SchemaTests.ServedSchemaJsonAsync();
        var inputNames = SchemaTests.Component(schema)["inputProperties"]!.AsObject().Select(p => p.Key)
            .Concat(schema["types"]!.AsObject().SelectMany(t => t.Value!["properties"]!.AsObject().Select(p => p.Key)))
            .ToHashSet(StringComparer.Ordinal);
        var arguments = source[source.IndexOf("new piefed.PieFedInstance(", StringComparison.Ordinal)..source.IndexOf("});", StringComparison.Ordinal)];
        // Upper-case names are the keys of maps (environment variables), not inputs.
        var used = PropertyName().Matches(arguments).Select(m => m.Groups["name"].Value).Where(n => !char.IsUpper(n[0])).ToArray();

        Assert.Contains("environment", used);
        Assert.Contains("databasePassword", used);
        Assert.Empty(used.Except(inputNames));
        Assert.Empty(InstanceOutput().Matches(source).Select(m => m.Groups["output"].Value).Except(await SchemaOutputsAsync()));
    }

    [Fact]
    public void TheTypeScriptExamplePinsItsDependenciesAndUsesThePackagesSdk()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Example("typescript", "package.json")));
        var dependencies = manifest.RootElement.GetProperty("dependencies").EnumerateObject()
            .Concat(manifest.RootElement.GetProperty("devDependencies").EnumerateObject())
            .ToDictionary(d => d.Name, d => d.Value.GetString()!);

        Assert.Equal("file:sdks/piefed", dependencies["@pulumi/piefed"]);
        Assert.All(dependencies.Where(d => d.Key != "@pulumi/piefed"), d => Assert.Matches(@"^\d+\.\d+\.\d+$", d.Value));
        Assert.Equal("../../provider", At(LoadYaml(Example("typescript", "Pulumi.yaml")), "packages", "piefed").ToString());
    }

    private static async Task<IEnumerable<string>> SchemaOutputsAsync()
        => SchemaTests.Component(await SchemaTests.ServedSchemaJsonAsync())["properties"]!.AsObject().Select(p => p.Key);

    [GeneratedRegex(@"^\$\{piefed\.(?<output>\w+)\}$")]
    private static partial Regex OutputReference();

    [GeneratedRegex(@"(?<name>\w+):\s")]
    private static partial Regex PropertyName();

    [GeneratedRegex(@"instance\.(?<output>\w+)")]
    private static partial Regex InstanceOutput();
}
