using PieFed.Infra.Tests.Support;
using Pulumi;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

/// <summary>Render mode for GitOps, an operator-managed Secret, and adopting the old YAML setup.</summary>
public sealed class OperationsModeTests
{
    private const string ProviderType = "pulumi:providers:kubernetes";

    private static StackConfig RenderedProd => StackConfig.Prod
        .WithField("render", "directory", "rendered")
        .With("existingSecret", "piefed-app-secrets")
        .With("database", null)
        .With("redis", null)
        .With("databasePassword", null);

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public async Task EveryKubernetesObject_GoesThroughTheOneExplicitProvider(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        var provider = Assert.Single(run.OfType(ProviderType));
        Assert.Equal("piefed-kubernetes", provider.Name);
        Assert.Null(provider.Inputs.At("renderYamlToDirectory"));
        var kubernetesObjects = run.Registrations.Where(r => r.Type.StartsWith("kubernetes:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(kubernetesObjects);
        Assert.All(kubernetesObjects, r => Assert.StartsWith(
            $"urn:pulumi:{stack}::piefed::pulumi:pulumi:Stack${ProviderType}::piefed-kubernetes::", r.Provider, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RenderMode_WritesThroughARenderingProviderAndNoSecretValues()
    {
        var run = await ProgramAsync(RenderedProd);

        var provider = Assert.Single(run.OfType(ProviderType));
        Assert.Equal("rendered", provider.Inputs.Str("renderYamlToDirectory"));
        Assert.All(run.Registrations.Where(r => r.Type.StartsWith("kubernetes:", StringComparison.Ordinal)),
            r => Assert.Contains("::piefed-kubernetes::", r.Provider, StringComparison.Ordinal));
        Assert.Empty(run.OfType(SecretType));
        Assert.Empty(run.OfType(RecordingMocks.RandomPasswordType));
        foreach (var (owner, spec) in ProductionReadinessTests.Pods(run))
        {
            Assert.All(spec.Objects("containers"), c => Assert.Equal(
                "piefed-app-secrets",
                c.Objects("envFrom").Single(e => e.At("secretRef") is not null).Str("secretRef.name")));
        }
    }

    [Fact]
    public async Task RenderMode_GatesEveryPodWithTheInitContainerAlone()
    {
        var run = await ProgramAsync(RenderedProd);

        var jobName = await ValueAsync<string>(run.Outputs["migrationJobName"]);
        foreach (var (owner, spec) in ProductionReadinessTests.Pods(run).Where(p => !ProductionReadinessTests.Ungated.Contains(p.Owner)))
        {
            var init = Assert.Single(spec.Objects("initContainers"));
            Assert.Equal(jobName, init.Objects("env").Single(e => e.Str("name") == "JOB_NAME").Str("value"));
        }
    }

    [Fact]
    public async Task RenderMode_TheMigrationJobAlone_IsKeptByFluxAndArgoCdWhenTheNextReleaseDropsIt()
    {
        var run = await ProgramAsync(RenderedProd);

        // Flux's kustomize-controller skips an object annotated prune: disabled; Argo CD one with the sync option Prune=false.
        var job = run.Single(JobType).Inputs;
        Assert.Equal("disabled", job.Str("metadata.annotations['kustomize.toolkit.fluxcd.io/prune']"));
        Assert.Equal("Prune=false", job.Str("metadata.annotations['argocd.argoproj.io/sync-options']"));
        var others = run.Registrations.Where(r => r.Type.StartsWith("kubernetes:", StringComparison.Ordinal) && r.Type != JobType).ToList();
        Assert.NotEmpty(others);
        Assert.All(others, r => Assert.Null(r.Inputs.At("metadata.annotations['kustomize.toolkit.fluxcd.io/prune']")));
        Assert.All(others, r => Assert.Null(r.Inputs.At("metadata.annotations['argocd.argoproj.io/sync-options']")));
    }

    [Fact]
    public async Task RenderMode_WithGeneratedSecrets_IsRefusedUnlessAllowed()
    {
        var refused = StackConfig.Prod.WithField("render", "directory", "rendered");

        var error = await Assert.ThrowsAsync<RunException>(() => ProgramAsync(refused));
        Assert.Contains("piefed:render.directory: rendering to \"rendered\" would write the app's secrets", error.Message, StringComparison.Ordinal);
        Assert.Contains("expected piefed:existingSecret", error.Message, StringComparison.Ordinal);
        Assert.Contains("piefed:render.allowPlaintextSecrets: true", error.Message, StringComparison.Ordinal);

        var allowed = await ProgramAsync(refused.WithField("render", "allowPlaintextSecrets", true));
        Assert.Equal(["piefed-config-admin", "piefed-config-secrets"], allowed.OfType(SecretType).Select(s => s.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task RenderMode_WithBundledServers_IsRefusedEvenWithAnExistingSecret()
    {
        var config = StackConfig.Dev.WithField("render", "directory", "rendered");

        var error = await Assert.ThrowsAsync<RunException>(() => ProgramAsync(config));

        Assert.Contains("and the bundled servers' generated passwords", error.Message, StringComparison.Ordinal);
        Assert.Contains("with piefed:bundledServices.enabled false", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExistingSecret_OutsideRenderMode_ReplacesTheGeneratedOne()
    {
        var run = await ProgramAsync(RenderedProd.With("render", null));

        Assert.Empty(run.OfType(SecretType));
        Assert.Null(Assert.Single(run.OfType(ProviderType)).Inputs.At("renderYamlToDirectory"));
        Assert.Equal("piefed-app-secrets", run.Single(JobType).Inputs.Str("spec.template.spec.containers[0].envFrom[1].secretRef.name"));
    }

    [Theory]
    [InlineData("database")]
    [InlineData("secretKey")]
    public async Task ExistingSecret_WithValuesItShouldHold_IsRefused(string key)
    {
        var config = RenderedProd.With("render", null).With(key, key == "database" ? new { host = "db.example.org" } : new string('k', 40));

        var error = await Assert.ThrowsAsync<RunException>(() => ProgramAsync(config));

        Assert.Contains($"piefed:{key} is set while piefed:existingSecret is", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Adoption_LegacyNames_ProduceTheOldSetupsNames()
    {
        var run = await ProgramAsync(StackConfig.Prod
            .With("namespace", "piefed-application")
            .WithField("adoption", "legacyNames", true));

        Assert.Equal("piefed-application", run.Single(NamespaceType).Inputs.Str("metadata.name"));
        foreach (var type in new[] { ServiceAccountType, RoleType, RoleBindingType })
        {
            Assert.Equal("piefed-init-checker", run.Single(type).Inputs.Str("metadata.name"));
            Assert.Equal("piefed-application", run.Single(type).Inputs.Str("metadata.namespace"));
        }

        Assert.Equal("piefed-init-checker", run.Single(RoleBindingType).Inputs.Str("subjects[0].name"));
        Assert.Equal("piefed-web", run.Deployment("web").Inputs.Str("metadata.name"));
        Assert.Equal("piefed-worker", run.Deployment("worker").Inputs.Str("metadata.name"));
        Assert.Equal("piefed-init-checker", run.Deployment("web").Inputs.Str("spec.template.spec.serviceAccountName"));
        Assert.StartsWith("piefed-db-init-", await ValueAsync<string>(run.Outputs["migrationJobName"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Adoption_Default_UsesTheProgramsOwnNames()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        Assert.Equal("piefed-migration-waiter", run.Single(ServiceAccountType).Inputs.Str("metadata.name"));
        Assert.Null(Assert.Single(run.OfType(ProviderType)).Inputs.At("upsertExistingObjects"));
    }

    [Fact]
    public async Task Adoption_UpsertExistingObjects_IsSetOnTheProvider()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("adoption", "upsertExistingObjects", true));

        // Provider settings reach the engine as strings.
        Assert.Equal("true", Assert.Single(run.OfType(ProviderType)).Inputs.Str("upsertExistingObjects"));
    }
}
