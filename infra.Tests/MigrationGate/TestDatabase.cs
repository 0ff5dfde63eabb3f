using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Npgsql;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// A fresh database with a random name on the real loopback PostgreSQL, dropped afterwards. The
/// server is never faked: when it cannot be reached the test fails and says how to start it.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private const string DefaultAdminConnectionString = "Host=127.0.0.1;Port=5432;Username=piefed_test;Password=piefed_test;Database=postgres";

    public const string HowToStart =
        "Start it and create the test role (as root): pg_ctlcluster 15 main start && runuser -u postgres -- psql -c "
        + "\"CREATE ROLE piefed_test LOGIN CREATEDB CREATEROLE PASSWORD 'piefed_test'\" -c \"GRANT pg_signal_backend TO piefed_test\"; "
        + "or point PIEFED_TEST_POSTGRES at an Npgsql connection string of a role that has CREATEDB and CREATEROLE and is a member of pg_signal_backend.";

    private readonly NpgsqlConnectionStringBuilder _admin;
    private readonly List<string> _roles = [];

    private TestDatabase(NpgsqlConnectionStringBuilder admin, string name)
    {
        _admin = admin;
        Name = name;
    }

    public string Name { get; }

    /// <summary>Where PostgreSQL really listens; a TcpForwarder may stand in front of it.</summary>
    public IPEndPoint ServerEndpoint => new(IPAddress.Parse(_admin.Host!), _admin.Port);

    /// <param name="encoding">UTF8, like every database PieFed supports; SQL_ASCII plays one it refuses.</param>
    /// <param name="namePrefix">What the random name starts with: lowercase letters, digits and '_'.</param>
    public static async Task<TestDatabase> CreateAsync(string encoding = "UTF8", string namePrefix = "piefed_gate_")
    {
        var admin = Admin();
        var name = namePrefix + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        try
        {
            await using var connection = new NpgsqlConnection(admin.ConnectionString);
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name} ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0", connection);
            await create.ExecuteNonQueryAsync();
        }
        catch (Exception error) when (error is NpgsqlException or InvalidOperationException)
        {
            throw new InvalidOperationException(
                $"The tests need a real PostgreSQL at {admin.Host}:{admin.Port} as {admin.Username} (PIEFED_TEST_POSTGRES), "
                + $"but creating a database failed: {error.Message}. {HowToStart}", error);
        }

        return new TestDatabase(admin, name);
    }

    /// <summary>Drops every database whose name starts with <paramref name="namePrefix"/> and that <paramref name="isLeftOver"/> says nobody uses any more.</summary>
    public static async Task DropLeftOversAsync(string namePrefix, Func<string, bool> isLeftOver)
    {
        ArgumentNullException.ThrowIfNull(isLeftOver);
        await using var connection = new NpgsqlConnection(Admin().ConnectionString);
        await connection.OpenAsync();
        var names = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", connection))
        {
            list.Parameters.Add(new NpgsqlParameter { Value = namePrefix });
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                names.Add(reader.GetString(0));
            }
        }

        foreach (var name in names.Where(isLeftOver))
        {
            await DropAsync(connection, name);
        }
    }

    private static NpgsqlConnectionStringBuilder Admin() => new(
        Environment.GetEnvironmentVariable("PIEFED_TEST_POSTGRES") is { Length: > 0 } configured ? configured : DefaultAdminConnectionString)
    {
        Pooling = false,
    };

    /// <summary>
    /// DATABASE_URL as the Pulumi program writes it, optionally through another port or as another role.
    /// </summary>
    public string SqlAlchemyUrl(int? port = null, string? username = null, string? password = null) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"postgresql+psycopg2://{Uri.EscapeDataString(username ?? _admin.Username!)}:{Uri.EscapeDataString(password ?? _admin.Password!)}"
            + $"@{_admin.Host}:{port ?? _admin.Port}/{Name}");

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync(Name);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> QueryAsync<T>(string sql)
    {
        await using var connection = await OpenAsync(Name);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task<IReadOnlyList<string>> QueryColumnAsync(string sql)
    {
        await using var connection = await OpenAsync(Name);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    /// <summary>
    /// A session of the test's own on this database, named like an app's connection would be, and
    /// unpooled like a pod's: disposing it ends the session.
    /// </summary>
    public async Task<NpgsqlConnection> ConnectAsync(string applicationName)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_admin.ConnectionString) { Database = Name, ApplicationName = applicationName, Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task<bool> TableExistsAsync(string table) =>
        await QueryAsync<bool>($"SELECT to_regclass('public.\"{table}\"') IS NOT NULL");

    /// <summary>Creates a login role owning nothing but allowed into this database; dropped with it.</summary>
    public async Task CreateRoleAsync(string role, string password)
    {
        await using var connection = await OpenAsync(_admin.Database!);
        var quotedPassword = password.Replace("'", "''", StringComparison.Ordinal);
        await using var create = new NpgsqlCommand($"CREATE ROLE \"{role}\" LOGIN PASSWORD '{quotedPassword}'", connection);
        try
        {
            await create.ExecuteNonQueryAsync();
        }
        catch (PostgresException error) when (error.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new InvalidOperationException($"The test role {_admin.Username} cannot create roles. {HowToStart}", error);
        }

        _roles.Add(role);
        await using var grant = new NpgsqlCommand($"GRANT ALL ON DATABASE {Name} TO \"{role}\"", connection);
        await grant.ExecuteNonQueryAsync();
    }

    /// <summary>Makes this database a copy of <paramref name="template"/>, which nobody may be connected to.</summary>
    public async Task RecreateFromTemplateAsync(TestDatabase template)
    {
        ArgumentNullException.ThrowIfNull(template);
        await using var connection = await OpenAsync(_admin.Database!);
        await DropAsync(connection, Name);
        await using var create = new NpgsqlCommand($"CREATE DATABASE {Name} TEMPLATE {template.Name}", connection);
        await create.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await using var connection = await OpenAsync(_admin.Database!);
        await DropAsync(connection, Name);

        foreach (var role in _roles)
        {
            await using var dropRole = new NpgsqlCommand($"DROP ROLE IF EXISTS \"{role}\"", connection);
            await dropRole.ExecuteNonQueryAsync();
        }
    }

    /// <remarks>
    /// DROP DATABASE ... WITH (FORCE) ends the sessions still connected, and refuses unless it may
    /// end every one of them: a session of a role this test created, or one still starting up
    /// (its role not yet known), needs the dropping role to be a member of pg_signal_backend, which
    /// .ci/run grants. Without it the drop failed at random with 42501.
    /// </remarks>
    private static async Task DropAsync(NpgsqlConnection connection, string name)
    {
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    private async Task<NpgsqlConnection> OpenAsync(string database)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_admin.ConnectionString) { Database = database }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}
