using System.Collections.Immutable;
using System.Text.Json.Nodes;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Testing;

namespace PieFed.Infra.Tests.Support;

/// <summary>One run of the program under mocks, with what it registered and the state it leaves for the next run.</summary>
internal sealed record StackRun(
    ImmutableArray<Resource> Resources,
    IDictionary<string, object?> Outputs,
    IReadOnlyList<Registration> Registrations,
    StackState State)
{
    public const string NamespaceType = "kubernetes:core/v1:Namespace";
    public const string ServiceAccountType = "kubernetes:core/v1:ServiceAccount";
    public const string RoleType = "kubernetes:rbac.authorization.k8s.io/v1:Role";
    public const string RoleBindingType = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
    public const string ConfigMapType = "kubernetes:core/v1:ConfigMap";
    public const string SecretType = "kubernetes:core/v1:Secret";
    public const string JobType = "kubernetes:batch/v1:Job";
    public const string DeploymentType = "kubernetes:apps/v1:Deployment";
    public const string StatefulSetType = "kubernetes:apps/v1:StatefulSet";
    public const string ServiceType = "kubernetes:core/v1:Service";
    public const string IngressType = "kubernetes:networking.k8s.io/v1:Ingress";
    public const string PodDisruptionBudgetType = "kubernetes:policy/v1:PodDisruptionBudget";
    public const string PersistentVolumeClaimType = "kubernetes:core/v1:PersistentVolumeClaim";
    public const string CronJobType = "kubernetes:batch/v1:CronJob";
    public const string NetworkPolicyType = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

    /// <summary>
    /// Runs <see cref="PieFedProgram.Run"/>, the body of Program.cs, with this configuration. A first
    /// update with the plain mocks gives the same registrations every time, so it runs once per
    /// configuration and the tests that only read it share it, each with its own copy of the inputs.
    /// </summary>
    public static async Task<StackRun> ProgramAsync(StackConfig config, bool isPreview = false, RecordingMocks? mocks = null)
    {
        if (isPreview || mocks is not null)
        {
            return await RunProgramAsync(config, isPreview, mocks ?? new RecordingMocks());
        }

        var shared = await FirstUpdates.GetOrAdd($"{config.StackName}\n{config.ToPulumiConfigJson()}\n{config.ToEncryptedKeysJson()}", _ => new Lazy<Task<StackRun>>(() => RunProgramAsync(config, isPreview: false, new RecordingMocks()))).Value;
        return shared with { Registrations = [.. shared.Registrations.Select(r => r with { Inputs = (JsonObject)r.Inputs.DeepClone() })] };
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<StackRun>>> FirstUpdates = new();

    private static async Task<StackRun> RunProgramAsync(StackConfig config, bool isPreview, RecordingMocks mocks)
    {
        var (resources, outputs) = await MockDeployments.RunAsync(async () =>
        {
            using var _ = PulumiConfigEnvironment.Set(config);
            return await Pulumi.Deployment.TestAsync(
                mocks.Mock.Object,
                new TestOptions { IsPreview = isPreview, StackName = config.StackName, ProjectName = "piefed" },
                PieFedProgram.Run);
        });
        return new StackRun(resources, outputs, mocks.Registrations, mocks.State);
    }

    /// <summary>
    /// Builds the instance with a transformation that sees each resource's own options, which
    /// the mocks never do (pulumi/pulumi#14421); a transformation on the instance applies to
    /// every descendant.
    /// </summary>
    public static async Task ObserveOptionsAsync(StackConfig config, Action<ResourceTransformationArgs> observe)
    {
        await MockDeployments.RunAsync(async () =>
        {
            using var _ = PulumiConfigEnvironment.Set(config);
            await Pulumi.Deployment.TestAsync(new RecordingMocks().Mock.Object, new TestOptions { IsPreview = false, StackName = config.StackName }, () =>
            {
                var options = new ComponentResourceOptions
                {
                    ResourceTransformations =
                    {
                        args =>
                        {
                            observe(args);
                            return null;
                        },
                    },
                };
                new PieFedInstance(PieFedProgram.InstanceName, StackConfiguration.Read().Instance, options);
            });
        });
    }

    /// <summary>The next <c>pulumi up</c> of the same stack, on the state this one left.</summary>
    public Task<StackRun> UpdateAsync(StackConfig config) => ProgramAsync(config, mocks: new RecordingMocks(previous: State));

    public IEnumerable<Registration> OfType(string type) => Registrations.Where(r => r.Type == type);

    public Registration Single(string type) => Assert.Single(OfType(type));

    /// <summary>The app's Secret: SECRET_KEY and the connection URLs.</summary>
    public JsonObject AppSecret() => Assert.Single(OfType(SecretType), s => s.Name == "piefed-config-secrets").Inputs;

    public Registration Claim(string name) => Assert.Single(OfType(PersistentVolumeClaimType), c => c.Name == name);

    public Registration Deployment(string component)
        => Assert.Single(OfType(DeploymentType), d => d.Inputs.Str("metadata.labels['app.kubernetes.io/component']") == component);

    public static async Task<T> ValueAsync<T>(object? output) => await Pulumi.Utilities.OutputUtilities.GetValueAsync((Output<T>)output!);
}

/// <summary>Pulumi reads configuration from the environment when a deployment starts, as the language host sets it.</summary>
internal sealed class PulumiConfigEnvironment : IDisposable
{
    private const string Variable = "PULUMI_CONFIG";
    private readonly string? _previous = Environment.GetEnvironmentVariable(Variable);
    private readonly string? _previousEncrypted = Environment.GetEnvironmentVariable(StackConfiguration.EncryptedKeysVariable);

    private PulumiConfigEnvironment(StackConfig config)
    {
        Environment.SetEnvironmentVariable(Variable, config.ToPulumiConfigJson());
        Environment.SetEnvironmentVariable(StackConfiguration.EncryptedKeysVariable, config.ToEncryptedKeysJson());
    }

    public static PulumiConfigEnvironment Set(StackConfig config) => new(config);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(Variable, _previous);
        Environment.SetEnvironmentVariable(StackConfiguration.EncryptedKeysVariable, _previousEncrypted);
    }
}

internal static class JsonPaths
{
    /// <summary>The node at a simple path such as <c>spec.template.spec.containers[0].name</c> or <c>labels['a/b']</c>.</summary>
    public static JsonNode? At(this JsonNode node, string path)
    {
        JsonNode? current = node;
        foreach (var segment in Segments(path))
        {
            current = segment switch
            {
                int index => current is JsonArray array && index < array.Count ? array[index] : null,
                string name => current is JsonObject obj && obj.TryGetPropertyValue(name, out var child) ? child : null,
                _ => null,
            };
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    public static string? Str(this JsonNode node, string path) => node.At(path)?.GetValue<string>();

    public static JsonArray Array(this JsonNode node, string path) => node.At(path) as JsonArray ?? [];

    public static IEnumerable<JsonObject> Objects(this JsonNode node, string path) => node.Array(path).OfType<JsonObject>();

    private static IEnumerable<object> Segments(string path)
    {
        var i = 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                i++;
            }
            else if (path[i] == '[' && path[i + 1] == '\'')
            {
                var end = path.IndexOf("']", i, StringComparison.Ordinal);
                yield return path[(i + 2)..end];
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                yield return int.Parse(path[(i + 1)..end], System.Globalization.CultureInfo.InvariantCulture);
                i = end + 1;
            }
            else
            {
                var end = path.IndexOfAny(['.', '['], i);
                end = end < 0 ? path.Length : end;
                yield return path[i..end];
                i = end;
            }
        }
    }
}
