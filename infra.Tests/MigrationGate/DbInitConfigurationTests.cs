using System.Runtime.Versioning;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// db_init.py exactly as shipped, misconfigured: a setting it cannot use, or a mode without what it
/// needs, ends the run at once with exit code 2, naming the setting.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DbInitConfigurationTests : StandInInstanceTest
{
    private static readonly TimeSpan HardTimeout = DbInit.HardTimeout;

    [Theory]
    [InlineData("DATABASE_URL", "", "DATABASE_URL is not set")]
    [InlineData("DATABASE_URL", "mysql://piefed:secret@db/piefed", "DATABASE_URL must have the form postgresql+psycopg2://")]
    [InlineData("DATABASE_URL", "postgresql+psycopg2://piefed:se%ZZcret@db/piefed", "DATABASE_URL cannot be parsed: invalid dsn: invalid percent-encoded token: \"***\"")]
    [InlineData("DATABASE_URL", "postgresql+psycopg2://piefed:secret@db/piefed?bogus=1", "DATABASE_URL cannot be parsed: invalid dsn: invalid URI query parameter: \"bogus\"")]
    [InlineData("CACHE_REDIS_URL", "", "CACHE_REDIS_URL is not set")]
    [InlineData("CACHE_REDIS_URL", "memcached://cache:11211", "CACHE_REDIS_URL cannot be parsed")]
    [InlineData("DB_INIT_DEPENDENCY_TIMEOUT_SECONDS", "five", "DB_INIT_DEPENDENCY_TIMEOUT_SECONDS='five' is not a number")]
    [InlineData("DB_INIT_RETRY_INTERVAL_SECONDS", "0", "DB_INIT_RETRY_INTERVAL_SECONDS must be a positive number")]
    [InlineData("DB_INIT_DEPENDENCY_TIMEOUT_SECONDS", "inf", "DB_INIT_DEPENDENCY_TIMEOUT_SECONDS must be a positive number")]
    [InlineData("DB_INIT_BACKUP_KEEP", "0", "DB_INIT_BACKUP_KEEP must be a whole number of at least 1, got '0'")]
    [InlineData("DB_INIT_BACKUP_KEEP", "seven", "DB_INIT_BACKUP_KEEP must be a whole number of at least 1, got 'seven'")]
    public async Task Misconfiguration_ExitsTwoNamingTheSetting(string name, string value, string message)
    {
        await using var dbInit = StartDbInit(environment: new() { [name] = value });

        await OutputAssert.ExitsWith(2, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"db-init: configuration error: {message}");
        OutputAssert.DoesNotContain(dbInit, "secret");
        OutputAssert.DoesNotContain(dbInit, "ZZcret");
    }

    [Theory]
    [InlineData("rollback", null, "unknown arguments ['rollback']; expected one of migrate, backup, restore, or none for migrate")]
    [InlineData("backup", null, "DB_INIT_BACKUP_DIRECTORY is not set; backup needs the backup volume")]
    [InlineData("restore", null, "DB_INIT_BACKUP_DIRECTORY is not set; restore needs the backup volume")]
    [InlineData("backup", "", "DB_INIT_BACKUP_DIRECTORY is not set; backup needs the backup volume")]
    public async Task ModeWithoutWhatItNeeds_ExitsTwoNamingIt(string mode, string? backupDirectory, string message)
    {
        await using var dbInit = StartDbInit(mode: mode, environment: new() { ["DB_INIT_BACKUP_DIRECTORY"] = backupDirectory });

        await OutputAssert.ExitsWith(2, dbInit, HardTimeout);
        OutputAssert.Contains(dbInit, $"db-init: configuration error: {message}");
    }
}
