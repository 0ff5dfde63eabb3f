using System.Text.Json.Nodes;
using PieFed.Infra.Configuration;
using PieFed.Infra.Package;
using PieFed.Infra.Tests.Support;
using Pulumi.Experimental.Provider;

namespace PieFed.Infra.Tests.Package;

/// <summary>The package's schema: checked in beside the provider, and always the one it serves.</summary>
public sealed class SchemaTests
{
    private const string UpdateVariable = "PIEFED_UPDATE_SCHEMA";
    private static readonly string[] Stacks = ["dev", "prod"];

    internal static async Task<string> ServedSchemaAsync()
        => (await PieFedPackage.Provider().GetSchema(new GetSchemaRequest(1, null, null), CancellationToken.None)).Schema
            ?? throw new InvalidOperationException("The provider served no schema.");

    internal static async Task<JsonObject> ServedSchemaJsonAsync() => JsonNode.Parse(await ServedSchemaAsync())!.AsObject();

    internal static JsonObject Component(JsonObject schema) => schema["resources"]!["piefed:index:PieFedInstance"]!.AsObject();

    [Fact]
    public async Task EveryInputNestedFieldAndOutput_IsDescribedInTheSchemaByItsRowOfTheReadme()
    {
        var schema = await ServedSchemaJsonAsync();
        var component = Component(schema);
        var properties = component["inputProperties"]!.AsObject().Concat(component["properties"]!.AsObject())
            .Concat(schema["types"]!.AsObject().SelectMany(t => t.Value!["properties"]!.AsObject()));

        Assert.Empty(properties.Where(p => p.Value!["description"] is null).Select(p => p.Key));
        // The text is the README's own, read here from the file an operator reads.
        var readme = await File.ReadAllLinesAsync(Path.Combine(Repository.Root(), "README.md"));
        string Row(string section, string key) => readme.SkipWhile(l => l != section).TakeWhile(l => l == section || !l.StartsWith("## ", StringComparison.Ordinal))
            .Single(l => l.StartsWith($"| `{key}` |", StringComparison.Ordinal)).Split(" | ")[^1].TrimEnd(' ', '|');
        Assert.StartsWith(Row("## Configuration reference", "migration.backoffLimit"), (string?)schema["types"]!["piefed:index:Migration"]!["properties"]!["backoffLimit"]!["description"], StringComparison.Ordinal);
        Assert.StartsWith(Row("## Configuration reference", "maintenance.restore"), (string?)schema["types"]!["piefed:index:Maintenance"]!["properties"]!["restore"]!["description"], StringComparison.Ordinal);
        Assert.Equal(Row("## Stack outputs", "adminPassword"), (string?)component["properties"]!["adminPassword"]!["description"]);
    }

    [Fact]
    public async Task TheCheckedInSchemaIsTheOneTheProviderServes()
    {
        var served = await ServedSchemaAsync() + "\n";
        var checkedIn = Path.Combine(AppContext.BaseDirectory, "Package", "schema.json");
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            await File.WriteAllTextAsync(Path.Combine(Repository.Root(), "provider", "schema.json"), served);
            return;
        }

        Assert.True(served == (await File.ReadAllTextAsync(checkedIn)).ReplaceLineEndings("\n"),
            $"provider/schema.json is not the schema the provider serves: an input, an output or the version changed without it."
            + $" Run `{UpdateVariable}=1 dotnet test --filter {nameof(SchemaTests)}`, review the difference, and bump <Version> in infra/PieFed.Infra.csproj"
            + " by the rule in PieFedPackage.Version.");
    }

    [Fact]
    public async Task TheComponentIsServedUnderThePackageNameAndVersion()
    {
        var schema = await ServedSchemaJsonAsync();
        Assert.Equal("piefed", (string?)schema["name"]);
        Assert.Equal(PieFedPackage.Version, (string?)schema["version"]);
        Assert.Matches(@"^\d+\.\d+\.\d+$", PieFedPackage.Version);
        // The building blocks are components too, and not part of the package's contract.
        Assert.Equal(["piefed:index:PieFedInstance"], schema["resources"]!.AsObject().Select(r => r.Key));
    }

    [Fact]
    public async Task TheTopLevelInputsAreTheStackConfigurationKeys()
    {
        var inputs = Component(await ServedSchemaJsonAsync())["inputProperties"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal);
        Assert.Equal(InputShape.Of(typeof(PieFedInstanceArgs)).Select(f => f.Name).Order(StringComparer.Ordinal), inputs);

        // Every instance key either stack file sets is an input of the same name; the rest configures the provider.
        var stackKeys = Stacks.SelectMany(StackKeys).Distinct();
        Assert.Empty(stackKeys.Except(inputs).Except(["render"]));
    }

    [Fact]
    public async Task WhatDecidesTheResourcesIsPlainAndCredentialsMayComeFromOtherResources()
    {
        var inputs = Component(await ServedSchemaJsonAsync())["inputProperties"]!.AsObject();
        string[] credentials = ["databasePassword", "redisPassword", "secretKey", "s3AccessKey", "s3AccessSecret", "adminPassword"];
        foreach (var (name, spec) in inputs)
        {
            var plain = spec!["plain"]?.GetValue<bool>() ?? false;
            if (credentials.Contains(name))
            {
                Assert.False(plain, $"{name} is a credential, which another resource may compute.");
                Assert.Equal("string", (string?)spec["type"]);
            }
            else if (name == "secretEnv")
            {
                Assert.Null(spec["additionalProperties"]!["plain"]);
            }
            else
            {
                Assert.True(plain || spec["type"]?.GetValue<string>() is "object" or "array", $"{name} decides which resources exist, so it must be known when the component is built.");
            }
        }

        Assert.Equal(["environment", "image", "serverName"], Component(await ServedSchemaJsonAsync())["requiredInputs"]!.AsArray().Select(n => (string)n!));
    }

    [Fact]
    public async Task TheOutputsAreTheNamesOperatorsTypeIntoKubectl()
    {
        var outputs = Component(await ServedSchemaJsonAsync())["properties"]!.AsObject().Select(p => p.Key);
        Assert.Equal(["adminPassword", "adminUserName", "migrationJobName", "namespace", "webDeploymentName", "webServiceName", "workerDeploymentName"], outputs);
    }

    private static IEnumerable<string> StackKeys(string stack)
        => File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Stacks", $"Pulumi.{stack}.yaml"))
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("piefed:", StringComparison.Ordinal))
            .Select(l => l["piefed:".Length..l.IndexOf(':', "piefed:".Length)]);
}
