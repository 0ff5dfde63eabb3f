using System.Collections.Immutable;
using Pulumi;

namespace PieFed.Infra.Configuration;

/// <summary>PieFed's own environment variables: plain ones in a ConfigMap, secret ones in the app's Secret.</summary>
internal static partial class InstanceSettings
{
    /// <summary>Environment variables the program sets itself; an override in <c>piefed:env</c> would break it.</summary>
    public static readonly ImmutableHashSet<string> ReservedEnvironmentVariables = ImmutableHashSet.Create(
        StringComparer.Ordinal,
        "SERVER_NAME", "SECRET_KEY", "DATABASE_URL", "CACHE_TYPE", "CACHE_REDIS_URL", "CELERY_BROKER_URL",
        "FLASK_APP", "PIEFED_INIT_CONTAINER", "CRON", "NOTIF_SERVER",
        "S3_REGION", "S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY", "S3_ACCESS_SECRET", "S3_PUBLIC_URL");

    private static ImmutableSortedDictionary<string, string> ReadExtraEnvironment(ConfigSection section, List<string> errors)
    {
        var result = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in section.StringMap())
        {
            if (!EnvironmentVariableName().IsMatch(name))
            {
                errors.Add($"{section.Path}.{name} is not a valid environment variable name; expected upper-case letters, digits and '_', not starting with a digit.");
            }
            else if (ReservedEnvironmentVariables.Contains(name))
            {
                errors.Add($"{section.Path}.{name} is set by the program itself; expected none of {string.Join(", ", ReservedEnvironmentVariables.Order(StringComparer.Ordinal))} (use the dedicated settings instead).");
            }
            else if (SecretVariableName().IsMatch(name))
            {
                errors.Add($"{section.Path}.{name} looks like a secret, and {section.Path} lands in a ConfigMap that anyone who may read ConfigMaps can read;"
                    + $" expected it in {ConfigNamespace}:secretEnv instead: `pulumi config set --secret --path '{ConfigNamespace}:secretEnv.{name}' <value>`.");
            }
            else
            {
                result[name] = value;
            }
        }

        return result.ToImmutable();
    }

    /// <summary>Environment variables that go into the app's Secret, never a ConfigMap (mail password, Sentry DSN, ...).</summary>
    private static ImmutableSortedDictionary<string, Output<string>> ReadSecretEnvironment(
        ConfigSection section, InstanceInputs inputs, ImmutableSortedDictionary<string, string> plain, string? existingSecret, List<string> errors)
    {
        var result = ImmutableSortedDictionary.CreateBuilder<string, Output<string>>(StringComparer.Ordinal);
        foreach (var (name, _) in section.StringMap())
        {
            if (!EnvironmentVariableName().IsMatch(name))
            {
                errors.Add($"{section.Path}.{name} is not a valid environment variable name; expected upper-case letters, digits and '_', not starting with a digit.");
            }
            else if (ReservedEnvironmentVariables.Contains(name))
            {
                errors.Add($"{section.Path}.{name} is set by the program itself; expected none of {string.Join(", ", ReservedEnvironmentVariables.Order(StringComparer.Ordinal))}.");
            }
            else if (plain.ContainsKey(name))
            {
                errors.Add($"{section.Path}.{name} is also set in {ConfigNamespace}:env; expected it in one of the two.");
            }
            else if (existingSecret is not null)
            {
                errors.Add($"{section.Path}.{name} is set while {ConfigNamespace}:existingSecret is; expected {name} in the Secret \"{existingSecret}\" that you manage.");
            }
            else
            {
                result[name] = inputs.Secret($"secretEnv.{name}")!.Value;
            }
        }

        return result.ToImmutable();
    }
}
