using System.Collections;
using System.Collections.Immutable;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Experimental;
using Pulumi.Utilities;

namespace PieFed.Infra.Tests.Package;

/// <summary>
/// What the engine sends through the package, turned into the component's inputs by the SDK's own
/// deserialiser: the one ComponentProvider.Construct uses (pulumi-dotnet v3.112.1,
/// sdk/Pulumi/Provider/ComponentProvider.cs), so an input type it cannot fill fails here first.
/// </summary>
public sealed class DeserialisationTests
{
#pragma warning disable CS0618 // Obsolete in the SDK, and still what its ComponentProvider deserialises inputs with.
    private static readonly PropertyValueSerializer Serializer = new();
#pragma warning restore CS0618

#pragma warning disable CA2263 // The overload ComponentProvider.Construct calls, with the args type it finds by reflection.
    private static PieFedInstanceArgs Deserialize(ImmutableDictionary<string, PropertyValue> inputs)
        => (PieFedInstanceArgs)Serializer.Deserialize(new PropertyValue(inputs), typeof(PieFedInstanceArgs))!;
#pragma warning restore CA2263

    [Fact]
    public async Task EveryInputOfEveryTypeArrivesInTheArgs()
    {
        var args = Deserialize(Sample(typeof(PieFedInstanceArgs), "", trueFlag: null).TryGetMap(out var map) ? map : throw new InvalidOperationException());

        await AssertSampleAsync(args, typeof(PieFedInstanceArgs), "", trueFlag: null);
    }

    /// <summary>A boolean has two values, so each flag in turn is the only true one: a flag that lands in another's field is seen.</summary>
    public static TheoryData<string> Flags => [.. PlainPaths(typeof(PieFedInstanceArgs), "").Where(p => p.Type == typeof(bool?)).Select(p => p.Path)];

    [Theory]
    [MemberData(nameof(Flags))]
    public async Task EachFlagArrivesInItsOwnField(string flag)
    {
        var args = Deserialize(Sample(typeof(PieFedInstanceArgs), "", flag).TryGetMap(out var map) ? map : throw new InvalidOperationException());

        await AssertSampleAsync(args, typeof(PieFedInstanceArgs), "", flag);
    }

    [Fact]
    public async Task AnInstanceAsAYamlProgramWouldDeclareIt()
    {
        var args = Deserialize(ImmutableDictionary<string, PropertyValue>.Empty
            .Add("environment", new PropertyValue("production"))
            .Add("serverName", new PropertyValue("piefed.example.org"))
            .Add("image", Map(("tag", new PropertyValue("v1.7.7"))))
            .Add("web", Map(("replicas", new PropertyValue(3)), ("autoscaling", Map(("enabled", new PropertyValue(true)), ("maxReplicas", new PropertyValue(8))))))
            .Add("database", Map(("host", new PropertyValue("db.internal")), ("port", new PropertyValue(6432))))
            .Add("databasePassword", new PropertyValue("s3cret/pass").WithSecret(true))
            .Add("secretEnv", Map(("MAIL_PASSWORD", new PropertyValue("mail-pass").WithSecret(true))))
            .Add("networkPolicy", Map(("apiServerCidrs", new PropertyValue([new PropertyValue("10.0.0.1/32")])))));

        Assert.Equal("production", args.Environment);
        Assert.Equal("v1.7.7", args.Image!.Tag);
        Assert.Null(args.Image.Digest);
        Assert.Equal(3, args.Web!.Replicas);
        Assert.Equal(8, args.Web.Autoscaling!.MaxReplicas);
        Assert.Null(args.Web.Autoscaling.MinReplicas);
        Assert.Equal(6432, args.Database!.Port);
        Assert.Equal(["10.0.0.1/32"], args.NetworkPolicy!.ApiServerCidrs!);
        await AssertSecretAsync("s3cret/pass", args.DatabasePassword!);
        await AssertSecretAsync("mail-pass", args.SecretEnv!["MAIL_PASSWORD"]);
        Assert.Null(args.RedisPassword);
        Assert.Null(args.Worker);
    }

    [Fact]
    public void AnInputOfTheWrongTypeIsRefusedByName()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Deserialize(ImmutableDictionary<string, PropertyValue>.Empty
            .Add("web", Map(("replicas", new PropertyValue("three"))))));

        Assert.Contains("replicas", error.Message, StringComparison.Ordinal);
    }

    private static PropertyValue Map(params (string Key, PropertyValue Value)[] entries)
        => new(entries.ToImmutableDictionary(e => e.Key, e => e.Value));

    /// <summary>A value for every input, each distinct, nested types filled in turn; credentials as secrets.</summary>
    /// <param name="trueFlag">The one boolean input that is true; every other is false.</param>
    private static PropertyValue Sample(Type type, string path, string? trueFlag)
        => new(InputShape.Of(type).ToImmutableDictionary(f => f.Name, f => SampleOf(f.Type, $"{path}{f.Name}", trueFlag)));

    private static PropertyValue SampleOf(Type type, string path, string? trueFlag) => type switch
    {
        _ when Scalar(type, path, trueFlag) is string text => new PropertyValue(text),
        _ when Scalar(type, path, trueFlag) is int number => new PropertyValue(number),
        _ when Scalar(type, path, trueFlag) is bool flag => new PropertyValue(flag),
        _ when type == typeof(Input<string>) => new PropertyValue($"secret {path}").WithSecret(true),
        _ when type == typeof(Dictionary<string, string>) => Map(("KEY", new PropertyValue(path))),
        _ when type == typeof(Dictionary<string, Input<string>>) => Map(("KEY", new PropertyValue($"secret {path}").WithSecret(true))),
        _ when type == typeof(List<string>) => new PropertyValue([new PropertyValue(path), new PropertyValue($"{path}.2")]),
        _ when typeof(ResourceArgs).IsAssignableFrom(type) => Sample(type, $"{path}.", trueFlag),
        _ => throw new InvalidOperationException($"{path} is of a type this test does not know: {type.Name}; give it a sample."),
    };

    /// <summary>The sample of a plain input: distinct for each path, so a value that lands in the wrong field is seen.</summary>
    private static object? Scalar(Type type, string path, string? trueFlag) => type switch
    {
        _ when type == typeof(string) => path,
        _ when type == typeof(int?) => IntegerSamples[path],
        _ when type == typeof(bool?) => path == trueFlag,
        _ => null,
    };

    /// <summary>Every integer input's own number.</summary>
    private static readonly Dictionary<string, int> IntegerSamples = PlainPaths(typeof(PieFedInstanceArgs), "")
        .Where(p => p.Type == typeof(int?))
        .Select((p, index) => (p.Path, Number: 1000 + index))
        .ToDictionary(p => p.Path, p => p.Number);

    private static IEnumerable<(string Path, Type Type)> PlainPaths(Type type, string path)
        => InputShape.Of(type).SelectMany(f => typeof(ResourceArgs).IsAssignableFrom(f.Type)
            ? PlainPaths(f.Type, $"{path}{f.Name}.")
            : [($"{path}{f.Name}", f.Type)]);

    private static async Task AssertSampleAsync(object args, Type type, string path, string? trueFlag)
    {
        foreach (var field in InputShape.Of(type))
        {
            var at = $"{path}{field.Name}";
            var value = field.Property.GetValue(args);
            switch (value)
            {
                case Input<string> secret:
                    await AssertSecretAsync($"secret {at}", secret);
                    break;
                case Dictionary<string, Input<string>> secrets:
                    await AssertSecretAsync($"secret {at}", Assert.Single(secrets, e => e.Key == "KEY").Value);
                    break;
                case ResourceArgs section:
                    await AssertSampleAsync(section, field.Type, $"{at}.", trueFlag);
                    break;
                case Dictionary<string, string> map:
                    Assert.Equal([KeyValuePair.Create("KEY", at)], map);
                    break;
                case IEnumerable items and not string:
                    Assert.Equal([at, $"{at}.2"], items.Cast<string>());
                    break;
                default:
                    Assert.Equal(Scalar(field.Type, at, trueFlag), value);
                    break;
            }
        }
    }

    private static async Task AssertSecretAsync(string expected, Input<string> input)
    {
        var output = input.ToOutput();
        Assert.Equal(expected, await OutputUtilities.GetValueAsync(output));
        Assert.True(await Output.IsSecretAsync(output), $"{expected} lost its secrecy on the way in.");
    }
}
