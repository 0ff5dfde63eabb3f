using System.Globalization;
using System.Text.RegularExpressions;

namespace PieFed.Infra.Configuration;

/// <summary>The formats inputs are checked against, and how each is described in an error.</summary>
internal static partial class InstanceSettings
{
    private const string ImageWithTagAllowed = "an image reference with a tag, e.g. \"docker.io/library/postgres:17.2-alpine\"";
    private const string StorageClassAllowed = "the name of a StorageClass, or leave it unset for the cluster's default";
    private const string CpuAllowed = "a CPU quantity such as \"250m\" or \"2\"";
    private const string MemoryAllowed = "a memory quantity such as \"512Mi\" or \"1Gi\"";
    private const string PostgresIdentifierAllowed = "a PostgreSQL identifier: a letter or '_' followed by letters, digits or '_', at most 63 characters";

    private static bool IsCpuQuantity(string value) => CpuQuantity().IsMatch(value) && ParseQuantity(value) > 0;

    private static bool IsMemoryQuantity(string value) => MemoryQuantity().IsMatch(value) && ParseQuantity(value) > 0;

    private static decimal ParseQuantity(string value)
    {
        var match = QuantityParts().Match(value);
        var number = decimal.Parse(match.Groups["number"].Value, CultureInfo.InvariantCulture);
        var factor = match.Groups["suffix"].Value switch
        {
            "m" => 0.001m,
            "k" => 1e3m,
            "M" => 1e6m,
            "G" => 1e9m,
            "T" => 1e12m,
            "Ki" => 1024m,
            "Mi" => 1024m * 1024,
            "Gi" => 1024m * 1024 * 1024,
            "Ti" => 1024m * 1024 * 1024 * 1024,
            _ => 1m,
        };
        return number * factor;
    }

    private static string OneOf(IEnumerable<string> values) => "one of " + string.Join(", ", values.Select(v => $"\"{v}\""));

    [GeneratedRegex("^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")]
    private static partial Regex DomainName();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    private static partial Regex HostName();

    [GeneratedRegex("^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*$")]
    private static partial Regex ImageRepository();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex LabelName();

    [GeneratedRegex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ImageWithTag();

    [GeneratedRegex("^(@(yearly|annually|monthly|weekly|daily|hourly)|[0-9*/,-]+( [0-9A-Za-z*/,-]+){4})$")]
    private static partial Regex CronSchedule();

    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]+$|^[a-z0-9-]{2,32}$")]
    private static partial Regex S3Region();

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex S3Bucket();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ImageTag();

    [GeneratedRegex("^sha256:[a-f0-9]{64}$")]
    private static partial Regex ImageDigest();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex PostgresIdentifier();

    [GeneratedRegex("^[A-Z_][A-Z0-9_]*$")]
    private static partial Regex EnvironmentVariableName();

    /// <summary>Names that hold credentials by convention (MAIL_PASSWORD, SENTRY_DSN, RECAPTCHA_PRIVATE_KEY, ...), public keys aside.</summary>
    [GeneratedRegex("PASSWORD|PASSWD|SECRET|TOKEN|DSN|CREDENTIAL|PRIVATE_KEY|API_KEY|ACCESS_KEY")]
    private static partial Regex SecretVariableName();

    /// <summary>A file name in the backup volume, never a path; db_init.py checks that the dump exists.</summary>
    [GeneratedRegex("^[A-Za-z0-9_+-][A-Za-z0-9_+.-]{0,254}$")]
    private static partial Regex DumpFileName();

    [GeneratedRegex("^[0-9]+(\\.[0-9]{1,3})?m?$")]
    private static partial Regex CpuQuantity();

    [GeneratedRegex("^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")]
    private static partial Regex MemoryQuantity();

    [GeneratedRegex("^(?<number>[0-9]+(\\.[0-9]+)?)(?<suffix>[a-zA-Z]*)$")]
    private static partial Regex QuantityParts();
}
