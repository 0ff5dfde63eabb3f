using System.Text.Json.Nodes;
using PieFed.Infra.Scripts;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The API_PERMISSIONS of the shipped wait_for_migrations.py as Python itself evaluates it, so that
/// tests of the Role do not rest on the program's own reading of the script (<see cref="ApiPermissions"/>).
/// </summary>
internal static class PythonDeclaredAccess
{
    // run_path runs the module's top level only: the waiter's main() runs under __main__ alone.
    private const string Reader = """
        import json
        import runpy
        import sys

        declared = runpy.run_path(sys.argv[1])["API_PERMISSIONS"]
        print(json.dumps(list(declared.values())))
        """;

    public static async Task<IReadOnlyList<ApiAccess>> ReadAsync()
    {
        var directory = Directory.CreateTempSubdirectory("piefed-declared-").FullName;
        try
        {
            var waiterPath = Path.Combine(directory, MigrationScripts.WaitForMigrationsFileName);
            await File.WriteAllTextAsync(waiterPath, MigrationScripts.WaitForMigrations);
            await using var reader = ScriptProcess.Start(Reader, "read_api_permissions.py", new Dictionary<string, string>(), null, waiterPath);
            await OutputAssert.ExitsWith(0, reader, TimeSpan.FromSeconds(30));
            return [.. JsonNode.Parse(reader.Output)!.AsArray().Select(entry => new ApiAccess(
                entry![0]!.GetValue<string>(), entry[1]!.GetValue<string>(), entry[2]!.GetValue<string>()))];
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
