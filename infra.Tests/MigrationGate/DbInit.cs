using System.Globalization;
using System.Runtime.Versioning;
using PieFed.Infra.Components;
using PieFed.Infra.Scripts;
using PieFed.Infra.Tests.Support;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// Starts db_init.py exactly as shipped, in a <see cref="StandInImage"/>, with the environment the
/// program gives PieFed's containers (the development stack's ConfigMap, as AppConfiguration renders
/// it) plus the Secret's keys pointed at the tests' real PostgreSQL and Redis.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class DbInit
{
    public static readonly TimeSpan HardTimeout = TimeSpan.FromSeconds(90);
    public static readonly TimeSpan OutputTimeout = TimeSpan.FromSeconds(45);

    private static readonly Lazy<IReadOnlyDictionary<string, string>> ProgramEnvironment =
        new(() => AppConfiguration.Environment(StackConfig.Dev.Settings()));

    /// <summary>The administrator the migration Job is given, as the program gives it.</summary>
    public const string AdminUserName = "test_admin";
    public const string AdminPassword = "a test password: 8+ characters, with spaces";

    /// <summary>The image's <c>flask</c> command as a script the test interpreter runs: Flask's own CLI entry point.</summary>
    public static readonly (string Text, string FileName) FlaskCli = ("from flask.cli import main\n\nmain()\n", "flask_cli.py");

    /// <summary>
    /// What a PieFed container of the stand-in image sees: the program's ConfigMap, the Secret's keys
    /// pointed at the test servers, the image's PATH and the pod's name.
    /// </summary>
    public static Dictionary<string, string> AppEnvironment(
        TestDatabase database, TestRedis redis, StandInImage image, string? databaseUrl = null, string? redisUrl = null, string pod = "piefed-db-init-test")
        => new(ProgramEnvironment.Value)
        {
            ["PATH"] = image.SearchPath,
            ["HOSTNAME"] = pod,
            ["SECRET_KEY"] = "a-test-secret-key-that-is-long-enough-to-sign",
            ["DATABASE_URL"] = databaseUrl ?? database.SqlAlchemyUrl(),
            ["CACHE_REDIS_URL"] = redisUrl ?? redis.Url(),
            ["CELERY_BROKER_URL"] = redis.Url(),
        };

    public static ScriptProcess Start(
        TestDatabase database,
        TestRedis redis,
        StandInImage image,
        string? mode = null,
        string? databaseUrl = null,
        string? redisUrl = null,
        string? backupDirectory = null,
        double dependencyTimeoutSeconds = 30,
        double retryIntervalSeconds = 0.2,
        string pod = "piefed-db-init-test",
        Dictionary<string, string?>? environment = null)
    {
        var settings = AppEnvironment(database, redis, image, databaseUrl, redisUrl, pod);
        settings[DatabaseMigration.AdminUserNameVariable] = AdminUserName;
        settings[DatabaseMigration.AdminEmailVariable] = "admin@piefed.example.org";
        settings[DatabaseMigration.AdminPasswordVariable] = AdminPassword;
        settings["DB_INIT_DEPENDENCY_TIMEOUT_SECONDS"] = dependencyTimeoutSeconds.ToString(CultureInfo.InvariantCulture);
        settings["DB_INIT_RETRY_INTERVAL_SECONDS"] = retryIntervalSeconds.ToString(CultureInfo.InvariantCulture);
        if (backupDirectory is not null)
        {
            settings["DB_INIT_BACKUP_DIRECTORY"] = backupDirectory;
        }

        foreach (var (name, value) in environment ?? [])
        {
            if (value is null)
            {
                settings.Remove(name);
            }
            else
            {
                settings[name] = value;
            }
        }

        return ScriptProcess.Start(MigrationScripts.DbInit, MigrationScripts.DbInitFileName, settings, image.AppDirectory, mode is null ? [] : [mode]);
    }

    /// <summary>Runs the image's <c>flask</c> with the program's environment, as an earlier release or an operator would.</summary>
    public static async Task FlaskAsync(TestDatabase database, TestRedis redis, StandInImage image, params string[] arguments)
    {
        await using var flask = ScriptProcess.Start(FlaskCli.Text, FlaskCli.FileName, AppEnvironment(database, redis, image), image.AppDirectory, arguments);
        await OutputAssert.ExitsWith(0, flask, HardTimeout);
    }

    /// <summary>Runs db_init.py to completion and asserts that it succeeded.</summary>
    public static async Task<string> RunAsync(TestDatabase database, TestRedis redis, StandInImage image, string? mode = null, string? backupDirectory = null)
    {
        await using var run = Start(database, redis, image, mode, backupDirectory: backupDirectory);
        await OutputAssert.ExitsWith(0, run, HardTimeout);
        return run.Output;
    }
}
