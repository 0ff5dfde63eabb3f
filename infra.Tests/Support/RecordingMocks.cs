using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Moq;
using Pulumi.Testing;

namespace PieFed.Infra.Tests.Support;

/// <summary>
/// A Moq <see cref="IMocks"/> that echoes inputs back as state and records every registration in
/// the order the engine saw it.
/// </summary>
internal sealed class RecordingMocks
{
    public const string RandomPasswordType = "random:index/randomPassword:RandomPassword";

    /// <summary>The wire value Pulumi's SDK reads as "unknown until the update runs".</summary>
    private const string UnknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

    /// <summary>
    /// The inputs whose change makes the Kubernetes provider replace an object rather than update
    /// it, by type: pulumi-kubernetes v4.32.0, provider/pkg/provider/diff.go, forceNewProperties
    /// and its forceNew table. A change at or below one of these paths replaces; so does a change
    /// of <c>metadata.name</c> or <c>metadata.namespace</c>, for every kind. ConfigMaps and Secrets
    /// are replaced on any change of their contents unless the provider sets
    /// enableConfigMapMutable or enableSecretMutable (both off by default, provider.go), which
    /// this program's provider does not.
    /// </summary>
    private static readonly ImmutableDictionary<string, ImmutableArray<string>> ReplacedOnChangeOf =
        new Dictionary<string, ImmutableArray<string>>
        {
            ["kubernetes:batch/v1:Job"] = ["spec.completions", "spec.parallelism", "spec.selector", "spec.template"],
            ["kubernetes:core/v1:ConfigMap"] = ["binaryData", "data"],
            ["kubernetes:core/v1:Secret"] = ["type", "stringData", "data"],
            ["kubernetes:core/v1:PersistentVolumeClaim"] = ["spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"],
            ["kubernetes:apps/v1:Deployment"] = ["spec.selector"],
            ["kubernetes:apps/v1:StatefulSet"] = ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"],
            ["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"] = ["roleRef"],
            ["kubernetes:core/v1:Service"] = ["spec.clusterIP"],
        }.ToImmutableDictionary();

    private static readonly ImmutableArray<string> ReplacedOnChangeOfIdentity = ["metadata.name", "metadata.namespace"];

    private readonly ConcurrentQueue<Registration> _registrations = new();
    private readonly ConcurrentDictionary<(string Type, string Name), AutoNamedObject> _autoNamed = new();
    private readonly StackState _previous;
    private readonly bool _unknownAutoNames;

    /// <param name="beforeRegistering">Runs before a registration completes, e.g. to fail it as a provider does with an object that never becomes ready.</param>
    /// <param name="unknownAutoNames">Answer auto-names as unknown, as a preview may.</param>
    /// <param name="previous">The state an earlier update left, as <see cref="State"/> of its mocks; none for a first update.</param>
    public RecordingMocks(Func<MockResourceArgs, Task>? beforeRegistering = null, bool unknownAutoNames = false, StackState? previous = null)
    {
        _unknownAutoNames = unknownAutoNames;
        _previous = previous ?? StackState.Empty;
        Mock = new Mock<IMocks>();
        Mock.Setup(m => m.NewResourceAsync(It.IsAny<MockResourceArgs>()))
            .Returns(async (MockResourceArgs args) =>
            {
                if (beforeRegistering is not null)
                {
                    await beforeRegistering(args);
                }

                var inputs = Json.From(args.Inputs);
                _registrations.Enqueue(new Registration(args.Type!, args.Name!, inputs, args.Provider));
                return (args.Id ?? $"{args.Name}_id", Outputs(args, inputs));
            });
        Mock.Setup(m => m.CallAsync(It.IsAny<MockCallArgs>()))
            .ReturnsAsync((MockCallArgs args) => args.Args);
        Mock.Setup(m => m.RegisterResourceOutputs(It.IsAny<MockRegisterResourceOutputsRequest>()))
            .Returns(Task.CompletedTask);
    }

    public Mock<IMocks> Mock { get; }

    public IReadOnlyList<Registration> Registrations => [.. _registrations];

    /// <summary>What this update leaves in the stack's state, for the next one.</summary>
    public StackState State => new(_autoNamed.ToImmutableDictionary());

    /// <summary>The inputs, with what the real providers add to them.</summary>
    private ImmutableDictionary<string, object> Outputs(MockResourceArgs args, JsonObject inputs)
    {
        var state = args.Inputs;
        if (args.Type == RandomPasswordType)
        {
            return state.SetItem("result", $"generated-password-of-{args.Name}");
        }

        if (args.Type!.StartsWith("kubernetes:", StringComparison.Ordinal)
            && state.TryGetValue("metadata", out var metadata)
            && metadata is ImmutableDictionary<string, object> meta
            && !meta.ContainsKey("name"))
        {
            var name = _unknownAutoNames ? UnknownValue : AutoName(args.Type, args.Name!, inputs);
            return state.SetItem("metadata", meta.SetItem("name", name));
        }

        return state;
    }

    /// <summary>
    /// The name the Kubernetes provider gives an object without <c>metadata.name</c>. Its Check
    /// keeps the name of the object in the stack's state (provider.go, AdoptOldAutonameIfUnnamed);
    /// a replacement makes the engine check again without that state (pulumi/pulumi,
    /// pkg/resource/deploy/step_generator.go: "we need to recompute the default values"), and the
    /// provider draws a new random suffix. A Job in the state counts as completed, so its
    /// replaceUnready annotation never replaces it here.
    /// </summary>
    private string AutoName(string type, string name, JsonObject inputs)
    {
        var key = (type, name);
        var objectName = _previous.AutoNamed.TryGetValue(key, out var previous) && !Replaces(type, previous.Inputs, inputs)
            ? previous.ObjectName
            : $"{name}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}";
        _autoNamed[key] = new AutoNamedObject(inputs, objectName);
        return objectName;
    }

    /// <summary>Whether the Kubernetes provider replaces an object of this type, rather than update it, for this change of its inputs.</summary>
    public static bool Replaces(string type, JsonObject before, JsonObject after)
        => ReplacedOnChangeOfIdentity.AddRange(ReplacedOnChangeOf.GetValueOrDefault(type, []))
            .Any(path => !JsonNode.DeepEquals(At(before, path), At(after, path)));

    private static JsonNode? At(JsonObject inputs, string dottedPath)
        => dottedPath.Split('.').Aggregate((JsonNode?)inputs, (node, key) => node is JsonObject map ? map[key] : null);
}

/// <param name="Provider">The provider reference (URN::id) the resource was registered with, if explicit.</param>
internal sealed record Registration(string Type, string Name, JsonObject Inputs, string? Provider);

/// <summary>What a stack's state keeps of its auto-named Kubernetes objects, by resource type and name.</summary>
internal sealed record StackState(ImmutableDictionary<(string Type, string Name), AutoNamedObject> AutoNamed)
{
    public static readonly StackState Empty = new(ImmutableDictionary<(string Type, string Name), AutoNamedObject>.Empty);
}

/// <param name="Inputs">The inputs the object was last created or updated with.</param>
/// <param name="ObjectName">The name the provider gave it.</param>
internal sealed record AutoNamedObject(JsonObject Inputs, string ObjectName);
