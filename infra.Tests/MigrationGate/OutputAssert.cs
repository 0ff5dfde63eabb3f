
namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>Assertions on a script's log that show the whole log when they fail.</summary>
public static class OutputAssert
{
    public static async Task ExitsWith(int expected, ScriptProcess process, TimeSpan hardTimeout)
    {
        var exitCode = await process.WaitForExitAsync(hardTimeout);
        Assert.True(exitCode == expected, $"Exit code {exitCode}, expected {expected}. Output:\n{process.Output}");
    }

    public static void Contains(ScriptProcess process, string expected)
    {
        var output = process.Output;
        Assert.True(output.Contains(expected, StringComparison.Ordinal), $"Expected \"{expected}\" in the output:\n{output}");
    }

    public static void DoesNotContain(ScriptProcess process, string unexpected)
    {
        var output = process.Output;
        Assert.False(output.Contains(unexpected, StringComparison.Ordinal), $"Did not expect \"{unexpected}\" in the output:\n{output}");
    }

    public static void InOrder(ScriptProcess process, params string[] fragments)
    {
        var output = process.Output;
        var position = 0;
        foreach (var fragment in fragments)
        {
            var found = output.IndexOf(fragment, position, StringComparison.Ordinal);
            Assert.True(found >= 0, $"Expected \"{fragment}\" after position {position} of the output:\n{output}");
            position = found + fragment.Length;
        }
    }
}
