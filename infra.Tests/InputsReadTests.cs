using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PieFed.Infra.Configuration;
using PieFed.Infra.Tests.Support;
using Pulumi;

namespace PieFed.Infra.Tests;

/// <summary>
/// Every input the package declares is read by the validator: an input that is declared but never
/// read would be accepted in silence and do nothing. Found from the input types themselves, so a
/// new input is covered the day it is declared.
/// </summary>
public sealed class InputsReadTests
{
    /// <summary>A value no reader accepts: not text, number, boolean or list, and an object with a field no section knows.</summary>
    private static readonly JsonNode Unreadable = JsonNode.Parse("""{"unreadable-check": [[]]}""")!;

    /// <summary>Stacks under which every conditional part of the validation runs: external and bundled servers, S3, autoscalers, isolation.</summary>
    private static readonly StackConfig[] Stacks =
    [
        StackConfig.Prod,
        StackConfig.Dev,
        StackConfig.Prod
            .With("media", new { storage = "s3", s3 = new { region = "eu-central-1", bucket = "piefed-media" } })
            .With("s3AccessKey", "AKIAEXAMPLE").With("s3AccessSecret", "an-example-s3-secret")
            .WithField("web", "autoscaling.enabled", true)
            .WithField("worker", "autoscaling.enabled", true).WithField("worker", "autoscaling.keda", true)
            .WithField("networkPolicy", "enabled", true),
    ];

    public static TheoryData<string> PlainInputs => [.. Paths(typeof(PieFedInstanceArgs), "").Where(p => !p.IsSecret).Select(p => p.Path)];

    public static TheoryData<string> Credentials => [.. Paths(typeof(PieFedInstanceArgs), "").Where(p => p.IsSecret).Select(p => p.Path)];

    [Theory]
    [MemberData(nameof(PlainInputs))]
    public void EveryPlainInput_IsReadAndCheckedByTheValidator(string path)
    {
        var named = new Regex($"piefed:{Regex.Escape(path)}(?=[:. ])");
        var messages = new List<string>();
        foreach (var stack in Stacks)
        {
            var error = Record.Exception(() => With(stack, path, Unreadable).Settings());
            if (error is not null && named.IsMatch(error.Message))
            {
                return;
            }

            messages.Add(error?.Message ?? "(accepted)");
        }

        Assert.Fail($"piefed:{path} is declared but no stack's validation reads it: an unreadable value was accepted in silence.\n{string.Join("\n", messages)}");
    }

    [Theory]
    [MemberData(nameof(Credentials))]
    public async Task EveryCredential_ReachesWhatTheInstanceDeploys(string path)
    {
        const string value = "a0credential0that0only0this0input0holds";
        var stack = path == "secretEnv" ? Stacks[2].With("secretEnv", new Dictionary<string, string> { ["MAIL_PASSWORD"] = value }) : Stacks[2].With(path, value);

        var run = await StackRun.ProgramAsync(stack);

        Assert.Contains(run.Registrations, r => r.Inputs.ToJsonString().Contains(value, StringComparison.Ordinal));
    }

    private static StackConfig With(StackConfig stack, string path, JsonNode value)
        => path.Split('.', 2) is [var key, var rest] ? stack.WithField(key, rest, value.DeepClone()) : stack.With(path, value.DeepClone());

    private static IEnumerable<(string Path, bool IsSecret)> Paths(Type argsType, string prefix)
    {
        foreach (var field in InputShape.Of(argsType))
        {
            var path = prefix + field.Name;
            yield return (path, field.IsSecret);
            if (typeof(ResourceArgs).IsAssignableFrom(field.Type))
            {
                foreach (var nested in Paths(field.Type, path + "."))
                {
                    yield return nested;
                }
            }
        }
    }
}
