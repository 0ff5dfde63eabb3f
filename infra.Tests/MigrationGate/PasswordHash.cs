using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// A login's password check as PieFed makes it (app/models.py, User.check_password: werkzeug's
/// check_password_hash), run by the test interpreter's real werkzeug. The password goes on
/// standard input, never on a command line.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class PasswordHash
{
    private const string Check = """
        import sys
        from werkzeug.security import check_password_hash

        password_hash, password = sys.stdin.read().split("\n", 1)
        sys.exit(0 if check_password_hash(password_hash, password) else 1)
        """;

    public static async Task<bool> VerifiesAsync(string passwordHash, string password, StandInImage image)
    {
        await using var check = ScriptProcess.StartAnswering($"{passwordHash}\n{password}", Check, "check_password.py", new Dictionary<string, string>(), image.AppDirectory);
        return await check.WaitForExitAsync(DbInit.HardTimeout) == 0;
    }
}
