using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
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

    private readonly ConcurrentQueue<Registration> _registrations = new();
    private readonly bool _unknownAutoNames;

    /// <param name="beforeRegistering">Runs before a registration completes, e.g. to hold it as a slow provider would.</param>
    /// <param name="unknownAutoNames">Answer auto-names as unknown, as a preview may.</param>
    public RecordingMocks(Func<MockResourceArgs, Task>? beforeRegistering = null, bool unknownAutoNames = false)
    {
        _unknownAutoNames = unknownAutoNames;
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
                return (args.Id ?? $"{args.Name}_id", State(args));
            });
        Mock.Setup(m => m.CallAsync(It.IsAny<MockCallArgs>()))
            .ReturnsAsync((MockCallArgs args) => args.Args);
        Mock.Setup(m => m.RegisterResourceOutputs(It.IsAny<MockRegisterResourceOutputsRequest>()))
            .Returns(Task.CompletedTask);
    }

    public Mock<IMocks> Mock { get; }

    public IReadOnlyList<Registration> Registrations => [.. _registrations];

    /// <summary>
    /// What the real providers add to the inputs. The Kubernetes provider auto-names objects
    /// without <c>metadata.name</c> from the resource name plus a random suffix, and a replaced
    /// object gets a new one; a hash of the inputs stands in for that suffix, so a changed object
    /// gets a new name here too.
    /// </summary>
    private ImmutableDictionary<string, object> State(MockResourceArgs args)
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
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Json.From(args.Inputs).ToJsonString()));
            var name = _unknownAutoNames ? UnknownValue : $"{args.Name}-{Convert.ToHexStringLower(hash)[..8]}";
            return state.SetItem("metadata", meta.SetItem("name", name));
        }

        return state;
    }
}

/// <param name="Provider">The provider reference (URN::id) the resource was registered with, if explicit.</param>
internal sealed record Registration(string Type, string Name, JsonObject Inputs, string? Provider);
