using Pulumi;

namespace PieFed.Infra.Configuration;

/// <summary>
/// Every configuration problem at once. A <see cref="RunException"/> so that Pulumi prints the
/// message alone, without a stack trace the operator has no use for.
/// </summary>
public sealed class InvalidConfigException : RunException
{
    public InvalidConfigException(IReadOnlyList<string> problems)
        : base(Describe(problems))
    {
        Problems = problems;
    }

    public IReadOnlyList<string> Problems { get; }

    private static string Describe(IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return $"The stack configuration has {problems.Count} problem(s); nothing was deployed:{Environment.NewLine}"
            + string.Join(Environment.NewLine, problems.Select(p => $"  - {p}"));
    }
}
