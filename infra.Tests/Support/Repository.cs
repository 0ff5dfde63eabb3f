namespace PieFed.Infra.Tests.Support;

/// <summary>The checkout the tests were built from, for what they write back to it or run from it.</summary>
internal static class Repository
{
    public static string Root()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory.FullName, "PieFed.Infra.slnx")))
        {
            directory = directory.Parent ?? throw new InvalidOperationException("The tests run outside the repository.");
        }

        return directory.FullName;
    }
}
