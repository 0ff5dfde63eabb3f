using Pulumi;

namespace PieFed.Infra.Configuration;

/// <summary>
/// Every configuration problem at once. A <see cref="RunException"/> so that Pulumi prints the
/// message alone, without a stack trace the operator has no use for.
/// </summary>
public sealed class InvalidConfigException : RunException
{
    /// <param name="what">What is wrong, e.g. "The stack configuration has 2 problem(s); nothing was deployed".</param>
    public InvalidConfigException(string what, IReadOnlyList<string> problems)
        : base(Describe(what, problems))
    {
        Problems = problems;
    }

    public IReadOnlyList<string> Problems { get; }

    private static string Describe(string what, IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return $"{what}:{Environment.NewLine}"
            + string.Join(Environment.NewLine, problems.Select(p => $"  - {p}"));
    }
}
