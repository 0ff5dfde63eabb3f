namespace PieFed.Infra.Scripts;

/// <summary>
/// The two scripts that gate a release on its migration. They run in the stock PieFed image
/// (Python 3 with the app's own packages), so the gate needs no extra image and no rebuild.
/// </summary>
public static class MigrationScripts
{
    public const string MountPath = "/opt/piefed-migration";
    public const string DbInitFileName = "db_init.py";
    public const string WaitForMigrationsFileName = "wait_for_migrations.py";

    public static string DbInit { get; } = Read(DbInitFileName);

    public static string WaitForMigrations { get; } = Read(WaitForMigrationsFileName);

    /// <summary>The Kubernetes API permissions wait_for_migrations.py declares it uses: what its Role grants, no more.</summary>
    public static IReadOnlyList<ApiAccess> WaitForMigrationsApiPermissions()
        => ApiPermissions.DeclaredBy(WaitForMigrations, WaitForMigrationsFileName);

    private static string Read(string fileName)
    {
        var name = $"PieFed.Infra.Scripts.{fileName}";
        using var stream = typeof(MigrationScripts).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The script {name} is not embedded in {typeof(MigrationScripts).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
