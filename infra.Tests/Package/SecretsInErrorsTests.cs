using PieFed.Infra.Configuration;
using PieFed.Infra.Tests.Support;
using Pulumi;

namespace PieFed.Infra.Tests.Package;

/// <summary>
/// No error shows a secret: every credential, given a wrong shape and a wrong value, through the
/// stack's configuration and through the package, and every message searched for what was given.
/// Error text lands in test output, CI logs and Automation API callers, which keep it.
/// </summary>
public sealed class SecretsInErrorsTests
{
    private const string Marker = "Zq7SecretMarker";

    /// <summary>Each credential with values that the checks refuse or that cannot be read at all; each carries the marker.</summary>
    public static TheoryData<string, string> Cases => new()
    {
        { "databasePassword", $$"""{"nested": "{{Marker}}"}""" },
        { "redisPassword", $"{Marker}/with-a-slash" },
        { "redisPassword", $$"""["{{Marker}}"]""" },
        { "secretKey", Marker },
        { "secretKey", $$"""{"nested": "{{Marker}}"}""" },
        { "s3AccessKey", $$"""{"nested": "{{Marker}}"}""" },
        { "s3AccessSecret", $$"""["{{Marker}}"]""" },
        { "adminPassword", $"{Marker}\nsecond line" },
        { "adminPassword", "Zq7" },
        { "secretEnv", Marker },
        { "secretEnv", $$"""["{{Marker}}"]""" },
        { "secretEnv", $$$"""{"MAIL_PASSWORD": {"nested": "{{{Marker}}}"}}""" },
        { "secretEnv", $$"""{"not a name": "{{Marker}}"}""" },
        { "secretEnv", $$"""{"SERVER_NAME": "{{Marker}}"}""" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task StackConfiguration_NamesTheKeyButNeverShowsTheSecret(string key, string value)
    {
        var config = Configured(key, value);

        var error = await Record.ExceptionAsync(() => StackRun.ProgramAsync(config));

        AssertNoSecretIn(error, key);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Package_NamesTheInputButNeverShowsTheSecret(string key, string value)
    {
        var inputs = Configured(key, value).PackageInputs();

        var constructed = await ConstructTests.ConstructAsync(inputs);

        AssertNoSecretIn(constructed.Error, key);
    }

    /// <summary>Production, with S3 media so that the S3 keys are read, and the credential set to the value as `pulumi config set --secret` would.</summary>
    private static StackConfig Configured(string key, string value)
    {
        var config = StackConfig.Prod.With("media", new { storage = "s3", s3 = new { region = "eu-central-1", bucket = "piefed-media" } })
            .With("s3AccessKey", "AKIAEXAMPLE").With("s3AccessSecret", "an-example-s3-secret");
        return config.With(key, value.StartsWith('{') || value.StartsWith('[') ? System.Text.Json.Nodes.JsonNode.Parse(value) : value);
    }

    private static void AssertNoSecretIn(Exception? error, string key)
    {
        var texts = new List<string>();
        for (var current = error; current is not null; current = current.InnerException)
        {
            texts.Add(current.Message);
        }

        var message = string.Join('\n', texts);
        Assert.DoesNotContain(Marker, message, StringComparison.Ordinal);
        if (error is InvalidConfigException or RunException)
        {
            Assert.Contains(key, message, StringComparison.Ordinal);
        }
    }
}
