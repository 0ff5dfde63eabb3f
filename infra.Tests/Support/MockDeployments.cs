namespace PieFed.Infra.Tests.Support;

/// <summary>
/// Runs one mocked Pulumi deployment at a time. A deployment reads its configuration from the
/// process's environment (<c>PULUMI_CONFIG</c>, which <see cref="PulumiConfigEnvironment"/> sets)
/// when it starts, and Pulumi's <c>Deployment.Instance</c> is process-wide, so two at once would read
/// each other's. Everything else in the suite may run in parallel with them.
/// </summary>
internal static class MockDeployments
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    public static async Task<T> RunAsync<T>(Func<Task<T>> deployment)
    {
        await OneAtATime.WaitAsync();
        try
        {
            return await deployment();
        }
        finally
        {
            OneAtATime.Release();
        }
    }

    public static Task RunAsync(Func<Task> deployment)
        => RunAsync(async () =>
        {
            await deployment();
            return true;
        });
}
