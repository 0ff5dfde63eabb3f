using PieFed.Infra.Scripts;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// How the program reads the permissions a script declares, on edits of the shipped waiter: the Role is
/// built from this reading, so anything it cannot read with certainty must stop the program.
/// </summary>
public sealed class ApiPermissionsTests
{
    private const string WatchEntry = """    "watch_job": ("watch", "jobs", "batch"),""";

    [Fact]
    public void DeclaredBy_ThePlainForm_ReadsEveryEntryInOrder()
    {
        var script = "\"\"\"A gate.\"\"\"\n\nAPI_PERMISSIONS = {\n    \"read_job\": (\"get\", \"jobs\", \"batch\"),\n"
            + "    \"read_pod_log\": (\"get\", \"pods/log\", \"\"),\n}\n";

        var declared = ApiPermissions.DeclaredBy(script, "gate.py");

        Assert.Equal([new ApiAccess("get", "jobs", "batch"), new ApiAccess("get", "pods/log", "")], declared);
    }

    [Fact]
    public async Task DeclaredBy_TheShippedWaiter_ReadsWhatPythonEvaluatesInOrderEachOnce()
    {
        var declared = MigrationScripts.WaitForMigrationsApiPermissions();

        Assert.Equal((await PythonDeclaredAccess.ReadAsync()).Distinct(), declared);
        // The pruning of old Jobs lists them with the pods it shares with the failure logs, and deletes them.
        Assert.Contains(new ApiAccess("delete", "jobs", "batch"), declared);
        Assert.Single(declared, access => access == new ApiAccess("list", "pods", ""));
    }

    [Fact]
    public void DeclaredBy_OnePermissionForTwoPurposes_ListsItOnce()
    {
        var script = Waiter(WatchEntry, WatchEntry + "\n" + """    "watch_job_again": ("watch", "jobs", "batch"),""");

        var declared = ApiPermissions.DeclaredBy(script, "gate.py");

        Assert.Single(declared, access => access == new ApiAccess("watch", "jobs", "batch"));
    }

    [Theory]
    [InlineData("""    "watch_job": ("watch", "jobs", "batch"),  # follow the Job""")]
    [InlineData("""    "watch_job": ("watch", "jobs"),""")]
    [InlineData("""    'watch_job': ('watch', 'jobs', 'batch'),""")]
    [InlineData("""    "watch_job": ("watch", "jobs", "batch")""")]
    [InlineData("""    "watch_job": ("Watch", "jobs", "batch"),""")]
    [InlineData("""    "watch_job": WATCH_JOB,""")]
    [InlineData("""    **EXTRA_PERMISSIONS,""")]
    [InlineData("")]
    public void DeclaredBy_AnEntryNotInThePlainForm_IsRefusedNamingItsLine(string entry)
    {
        var script = Waiter(WatchEntry, entry);

        var error = Assert.Throws<FormatException>(() => ApiPermissions.DeclaredBy(script, "gate.py"));

        var line = MigrationScripts.WaitForMigrations.Split('\n').ToList().IndexOf(WatchEntry) + 1;
        Assert.StartsWith($"gate.py line {line}: \"{entry}\" is not an entry of API_PERMISSIONS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeclaredBy_NoDeclaration_IsRefused()
    {
        var script = Waiter("API_PERMISSIONS = {", "API_PERMISSIONS = dict(");

        var error = Assert.Throws<FormatException>(() => ApiPermissions.DeclaredBy(script, "gate.py"));

        Assert.Contains("\"API_PERMISSIONS = {\", but has 0 such lines", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeclaredBy_TwoDeclarations_AreRefused()
    {
        var script = MigrationScripts.WaitForMigrations + "\nAPI_PERMISSIONS = {\n}\n";

        var error = Assert.Throws<FormatException>(() => ApiPermissions.DeclaredBy(script, "gate.py"));

        Assert.Contains("but has 2 such lines", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeclaredBy_APurposeDeclaredTwice_IsRefused()
    {
        // Python would keep the second entry alone, so the Role would grant a permission the script never names.
        var script = Waiter(WatchEntry, WatchEntry + "\n" + """    "watch_job": ("list", "jobs", "batch"),""");

        var error = Assert.Throws<FormatException>(() => ApiPermissions.DeclaredBy(script, "gate.py"));

        Assert.Contains("declares \"watch_job\" twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeclaredBy_NoEntry_IsRefused()
    {
        var script = "API_PERMISSIONS = {\n}\n";

        var error = Assert.Throws<FormatException>(() => ApiPermissions.DeclaredBy(script, "gate.py"));

        Assert.Contains("declares no permission", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeclaredBy_NoClosingBrace_IsRefused()
    {
        var script = "API_PERMISSIONS = {\n" + WatchEntry;

        var error = Assert.Throws<FormatException>(() => ApiPermissions.DeclaredBy(script, "gate.py"));

        Assert.Contains("has no closing \"}\"", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The shipped waiter with one exact line of it replaced.</summary>
    private static string Waiter(string line, string replacement)
    {
        var shipped = MigrationScripts.WaitForMigrations;
        Assert.Contains(line + "\n", shipped, StringComparison.Ordinal);
        return shipped.Replace(line + "\n", replacement + "\n", StringComparison.Ordinal);
    }
}
