using System.Collections.Immutable;
using System.Text.Json.Nodes;
using PieFed.Infra.Configuration;
using PieFed.Infra.Package;
using PieFed.Infra.Tests.Support;
using Pulumi;
using Pulumi.Experimental;
using Pulumi.Experimental.Provider;
using Pulumi.Testing;

namespace PieFed.Infra.Tests.Package;

/// <summary>
/// The served component, constructed as the engine asks the provider to (the SDK's
/// ComponentProviderTests call Construct the same way), inside a mocked deployment instead of
/// a running engine.
/// </summary>
public sealed class ConstructTests
{
    private const string ComponentType = "piefed:index:PieFedInstance";
    private const string KubernetesProviderType = "pulumi:providers:kubernetes";

    internal sealed record Constructed(ConstructResponse? Response, Exception? Error, ImmutableArray<Resource> Resources, IReadOnlyList<Registration> Registrations);

    internal static async Task<Constructed> ConstructAsync(ImmutableDictionary<string, PropertyValue> inputs, bool isPreview = false, StackState? previous = null)
    {
        var mocks = new RecordingMocks(previous: previous);
        ConstructResponse? response = null;
        Exception? error = null;
        var resources = await MockDeployments.RunAsync(() => Pulumi.Deployment.TestAsync(mocks.Mock.Object, new TestOptions { IsPreview = isPreview, StackName = "test", ProjectName = "piefed" }, async () =>
        {
            var request = new ConstructRequest(ComponentType, PieFedProgram.InstanceName, inputs, new ComponentResourceOptions());
            error = await Record.ExceptionAsync(async () => response = await PieFedPackage.Provider().Construct(request, CancellationToken.None));
        }));
        return new Constructed(response, error, resources, mocks.Registrations);
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public async Task TheProgramAndThePackageDeployTheSameResourcesForTheSameSettings(string stack)
    {
        var config = stack == "prod" ? StackConfig.Prod : StackConfig.Dev;
        var program = await StackRun.ProgramAsync(config);
        // The program's run names every auto-named object; the same inputs keep the same names.
        var package = await ConstructAsync(config.PackageInputs(), previous: program.State);

        Assert.Null(package.Error);
        var fromProgram = program.Registrations.Where(r => r.Type != KubernetesProviderType).ToDictionary(r => (r.Type, r.Name));
        var fromPackage = package.Registrations.ToDictionary(r => (r.Type, r.Name));
        Assert.Equal(fromProgram.Keys.Order(), fromPackage.Keys.Order());
        Assert.True(fromProgram.Count > 20, $"only {fromProgram.Count} resources");
        foreach (var (key, registration) in fromProgram)
        {
            Assert.True(JsonNode.DeepEquals(registration.Inputs, fromPackage[key].Inputs), $"{key} differs:\n{registration.Inputs}\n{fromPackage[key].Inputs}");
        }
    }

    [Fact]
    public async Task ConstructAnswersWithTheInstanceAndTheNamesOperatorsNeed()
    {
        var constructed = await ConstructAsync(StackConfig.Dev.PackageInputs());

        Assert.Null(constructed.Error);
        Assert.EndsWith($"{ComponentType}::piefed", constructed.Response!.Urn.ToString(), StringComparison.Ordinal);
        Assert.Equal(["adminPassword", "adminUserName", "migrationJobName", "namespace", "urn", "webDeploymentName", "webServiceName", "workerDeploymentName"], constructed.Response.Outputs.Keys.Order(StringComparer.Ordinal));
        Assert.True(constructed.Response.Outputs["namespace"].TryGetString(out var ns));
        Assert.Equal("piefed-dev", ns);
    }

    [Fact]
    public async Task ABadInputIsNamedAndNothingIsRegistered()
    {
        var inputs = StackConfig.Prod.WithField("web", "replicas", -1).With("serverName", "https://piefed.example.org").PackageInputs();

        var constructed = await ConstructAsync(inputs);

        var error = Assert.IsType<InvalidConfigException>(constructed.Error);
        Assert.Contains("PieFedInstance \"piefed\" has 2 invalid input(s); nothing was registered", error.Message, StringComparison.Ordinal);
        Assert.Contains("piefed:web.replicas: \"-1\" is not allowed; expected a whole number from 0 to 100", error.Message, StringComparison.Ordinal);
        Assert.Contains("piefed:serverName: \"https://piefed.example.org\" has a scheme", error.Message, StringComparison.Ordinal);
        Assert.Empty(constructed.Resources);
        Assert.Empty(constructed.Registrations);
    }

    [Fact]
    public async Task AMisspeltInputAtAnyDepthIsRefusedAsTheStackRefusesItAndNothingIsRegistered()
    {
        var inputs = StackConfig.Prod.PackageInputs()
            .SetItem("meida", new PropertyValue(ImmutableDictionary<string, PropertyValue>.Empty.Add("storage", new PropertyValue("s3"))))
            .SetItem("web", new PropertyValue(ImmutableDictionary<string, PropertyValue>.Empty
                .Add("gunicornWorker", new PropertyValue(8))
                .Add("autoscaling", new PropertyValue(ImmutableDictionary<string, PropertyValue>.Empty.Add("maxReplica", new PropertyValue(9))))));
        var stackError = await Assert.ThrowsAsync<RunException>(() => StackRun.ProgramAsync(StackConfig.Prod.WithField("web", "gunicornWorker", 8)));

        var constructed = await ConstructAsync(inputs);

        var error = Assert.IsType<InvalidConfigException>(constructed.Error);
        Assert.Contains("PieFedInstance \"piefed\" has 3 invalid input(s); nothing was registered", error.Message, StringComparison.Ordinal);
        Assert.Contains("piefed:meida is not a known setting; the known fields are environment, namespace, serverName", error.Message, StringComparison.Ordinal);
        Assert.Contains("piefed:web.autoscaling.maxReplica is not a known setting", error.Message, StringComparison.Ordinal);
        var misspelt = Assert.Single(error.Problems, p => p.StartsWith("piefed:web.gunicornWorker", StringComparison.Ordinal));
        Assert.Contains(misspelt, stackError.Message, StringComparison.Ordinal);
        Assert.Empty(constructed.Resources);
        Assert.Empty(constructed.Registrations);
    }

    [Fact]
    public async Task ACredentialGivenThroughThePackageIsCheckedLikeStackConfiguration()
    {
        var constructed = await ConstructAsync(StackConfig.Dev.With("secretKey", "hunter2").PackageInputs());

        var error = Assert.IsType<InvalidConfigException>(constructed.Error);
        Assert.Contains("piefed:secretKey: a value of 7 characters is too short", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACredentialAnotherResourceComputesIsTakenUnseenAndKeptSecret()
    {
        // In a preview, a password from a resource that does not exist yet is unknown.
        var inputs = StackConfig.Prod.PackageInputs().SetItem("databasePassword", PropertyValue.Computed.WithSecret(true));

        var constructed = await ConstructAsync(inputs, isPreview: true);

        Assert.Null(constructed.Error);
        var appSecret = Assert.Single(constructed.Registrations, r => r.Type == StackRun.SecretType && r.Name == "piefed-config-secrets");
        Assert.Null(appSecret.Inputs.Str("stringData.DATABASE_URL"));
    }
}
