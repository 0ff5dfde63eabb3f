using System.Globalization;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using PieFed.Infra.Components;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// Where the program meets PieFed's runtime, run for real in the <see cref="StandInImage"/> (which
/// copies upstream's behaviour at each of these points: init-db's prompts, its own Redis client,
/// before_request) against the real PostgreSQL and Redis, with what the program declares.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class PieFedRuntimeTests : StandInInstanceTest
{
    private static readonly (string Text, string FileName) GunicornCli = ("from gunicorn.app.wsgiapp import run\n\nrun()\n", "gunicorn_cli.py");

    [Fact]
    public async Task StandInInitDb_AsksLikeUpstreamAndAsksAgainForANameWithASpaceAndAShortPassword()
    {
        await MigrateAsync(Image);

        await using var initDb = ScriptProcess.StartAnswering(
            "the admin\nadmin@piefed.example.org\nthe_admin\nshort\nlong enough now\n",
            DbInit.FlaskCli.Text, DbInit.FlaskCli.FileName, DbInit.AppEnvironment(Database, Redis, Image), Image.AppDirectory, "init-db");

        await OutputAssert.ExitsWith(0, initDb, DbInit.HardTimeout);
        OutputAssert.InOrder(
            initDb,
            "User name cannot be an email address or have spaces.",
            "Password must be at least 8 characters",
            "Initial setup is finished.");
        Assert.Equal(["the_admin Admin"], await AdministratorsAsync());
    }

    [Fact]
    public async Task StandInInitDb_WithoutAnAnswer_FailsInsteadOfCreatingNoAdministrator()
    {
        await MigrateAsync(Image);

        // As upstream: input() at the end of standard input raises EOFError, which click reports as
        // "Aborted!" with exit code 1; nothing is committed.
        await using var initDb = ScriptProcess.StartAnswering(
            "the_admin\nadmin@piefed.example.org\n", DbInit.FlaskCli.Text, DbInit.FlaskCli.FileName, DbInit.AppEnvironment(Database, Redis, Image), Image.AppDirectory, "init-db");

        await OutputAssert.ExitsWith(1, initDb, DbInit.HardTimeout);
        OutputAssert.Contains(initDb, "Aborted!");
        Assert.Empty(await Database.QueryColumnAsync("SELECT name FROM site"));
    }

    [Theory]
    [InlineData(DatabaseMigration.AdminUserNameVariable, "the admin", "PIEFED_ADMIN_USER_NAME='the admin' is not a PieFed user name")]
    [InlineData(DatabaseMigration.AdminUserNameVariable, "admin@example.org", "is not a PieFed user name")]
    [InlineData(DatabaseMigration.AdminPasswordVariable, "seven77", "PIEFED_ADMIN_PASSWORD has 7 characters; expected at least 8")]
    [InlineData(DatabaseMigration.AdminPasswordVariable, "two\nlines", "PIEFED_ADMIN_PASSWORD has 9 characters; expected at least 8, without line breaks")]
    public async Task DbInit_RefusesAnAdministratorInitDbWouldAskAgainFor_BeforeTouchingTheDatabase(string variable, string value, string message)
    {
        await using var dbInit = DbInit.Start(Database, Redis, Image, environment: new() { [variable] = value });

        await OutputAssert.ExitsWith(2, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, message);
        Assert.False(await Database.TableExistsAsync("alembic_version"));
        if (variable == DatabaseMigration.AdminPasswordVariable)
        {
            OutputAssert.DoesNotContain(dbInit, value);
        }
    }

    [Fact]
    public async Task InstanceWithData_GetsNoAdministratorAndNeedsNoPassword()
    {
        await InstallAsync(Image);
        await Database.ExecuteAsync("DELETE FROM user_role; DELETE FROM \"user\"; INSERT INTO \"user\" (user_name) VALUES ('alice')");

        await using var dbInit = DbInit.Start(Database, Redis, Image, environment: new() { [DatabaseMigration.AdminPasswordVariable] = null });

        await OutputAssert.ExitsWith(0, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "not seeding");
        Assert.Empty(await AdministratorsAsync());
    }

    [Fact]
    public async Task FirstInstall_WithoutAPassword_FailsNamingWhereToPutIt()
    {
        await using var dbInit = DbInit.Start(Database, Redis, Image, environment: new() { [DatabaseMigration.AdminPasswordVariable] = null });

        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "add the password as PIEFED_ADMIN_PASSWORD to that Secret");
        OutputAssert.DoesNotContain(dbInit, "STANDIN-SEED");
    }

    [Fact]
    public async Task RedisUrl_AsTheProgramWritesIt_AuthenticatesPieFedsOwnClientRedisPyAndCelery()
    {
        // Base64 passwords carry '+' and '='; ':' '@' and ' ' stand in the URL unencoded too.
        const string password = "ab+c=d:e@f~ g!";
        await using var _ = await Redis.AcceptPasswordAsync(password);
        var run = await ProgramAsync(StackConfig.Prod
            .With("redisPassword", password)
            .WithField("redis", "host", Redis.ServerEndpoint.Address.ToString())
            .WithField("redis", "port", Redis.ServerEndpoint.Port));
        var secrets = run.AppSecret();
        var environment = DbInit.AppEnvironment(Database, Redis, Image);
        environment["CACHE_REDIS_URL"] = secrets.Str("stringData.CACHE_REDIS_URL")!;
        environment["CELERY_BROKER_URL"] = secrets.Str("stringData.CELERY_BROKER_URL")!;

        await using var clients = ScriptProcess.Start(RedisClients, "redis_clients.py", environment, Image.AppDirectory);

        await OutputAssert.ExitsWith(0, clients, DbInit.HardTimeout);
        OutputAssert.InOrder(clients, "PieFed's client: PONG", "redis-py: PONG", "kombu: connected");
    }

    /// <summary>Every reader of the Redis URLs in PieFed v1.7.7: app/utils.py, Flask-Caching and Flask-Limiter (redis-py), Celery (kombu).</summary>
    private const string RedisClients = """
        import os
        import sys

        import kombu
        import redis

        sys.path.insert(0, os.getcwd())
        from app.utils import get_redis_connection  # noqa: E402

        print("PieFed's client:", "PONG" if get_redis_connection(os.environ["CACHE_REDIS_URL"]).ping() else "no")
        print("redis-py:", "PONG" if redis.Redis.from_url(os.environ["CACHE_REDIS_URL"]).ping() else "no")
        with kombu.Connection(os.environ["CELERY_BROKER_URL"]) as connection:
            connection.ensure_connection(max_retries=1)
            print("kombu: connected")
        """;

    [Fact]
    public async Task DatabaseUrl_AsTheProgramWritesIt_GivesSqlAlchemyAndLibpqTheSameCredentials()
    {
        // StackConfig.DatabasePassword is made of URL-reserved characters: what an unescaped password would break.
        var run = await ProgramAsync(StackConfig.Prod);
        var databaseUrl = run.AppSecret().Str("stringData.DATABASE_URL")!;
        var environment = new Dictionary<string, string> { ["DATABASE_URL"] = databaseUrl, ["EXPECTED_PASSWORD"] = StackConfig.DatabasePassword };

        await using var readers = ScriptProcess.Start(DatabaseUrlReaders, "database_url_readers.py", environment, Image.AppDirectory);

        await OutputAssert.ExitsWith(0, readers, DbInit.HardTimeout);
        OutputAssert.InOrder(
            readers,
            "SQLAlchemy: piefed@postgres.example.internal:5432/piefed sslmode=require password intact",
            "libpq: piefed@postgres.example.internal:5432/piefed sslmode=require password intact");
    }

    /// <summary>
    /// The readers of DATABASE_URL: PieFed's SQLAlchemy (config.py's SQLALCHEMY_DATABASE_URI), and
    /// libpq as db_init.py, pg_dump and pg_restore get it (the driver suffix dropped).
    /// </summary>
    private const string DatabaseUrlReaders = """
        import os

        import psycopg2.extensions
        from sqlalchemy.engine import make_url

        url, expected = os.environ["DATABASE_URL"], os.environ["EXPECTED_PASSWORD"]
        parsed = make_url(url)
        intact = "password intact" if parsed.password == expected else "password CHANGED"
        mode = parsed.query.get("sslmode")
        print(f"SQLAlchemy: {parsed.username}@{parsed.host}:{parsed.port}/{parsed.database} sslmode={mode} {intact}")
        dsn = psycopg2.extensions.parse_dsn("postgresql://" + url.partition("://")[2])
        intact = "password intact" if dsn["password"] == expected else "password CHANGED"
        print(f"libpq: {dsn['user']}@{dsn['host']}:{dsn['port']}/{dsn['dbname']} sslmode={dsn['sslmode']} {intact}")
        """;

    [Fact]
    public async Task WebPod_AsDeclared_WithTheDatabaseCut_StaysAliveButLeavesTheServiceUntilItIsBack()
    {
        await InstallAsync(Image);
        var run = await ProgramAsync(StackConfig.Prod);
        var container = run.Deployment("web").Inputs.At("spec.template.spec.containers[0]")!;
        var command = container.Array("command").Select(c => c!.GetValue<string>()).ToArray();
        Assert.Equal("gunicorn", command[0]);
        await using var postgres = new TcpForwarder(Database.ServerEndpoint);
        postgres.BringUp();
        var port = FreePort();
        var environment = DbInit.AppEnvironment(Database, Redis, Image, databaseUrl: Database.SqlAlchemyUrl(port: postgres.Port));
        environment["STANDIN_WEB_BIND"] = $"127.0.0.1:{port}";

        await using var web = ScriptProcess.Start(GunicornCli.Text, GunicornCli.FileName, environment, Image.AppDirectory, command[1..]);
        using var kubelet = new Kubelet(port);
        await kubelet.WaitUntilAsync(Probe(container, "startupProbe"), succeeds: true, TimeSpan.FromSeconds(30), web);
        Assert.True(await kubelet.SucceedsAsync(Probe(container, "readinessProbe")), web.Output);

        await postgres.TakeDownAsync();
        await kubelet.WaitUntilAsync(Probe(container, "readinessProbe"), succeeds: false, TimeSpan.FromSeconds(20), web);
        for (var check = 0; check < 3; check++)
        {
            Assert.True(await kubelet.SucceedsAsync(Probe(container, "livenessProbe")), $"liveness failed with the database cut:\n{web.Output}");
        }

        postgres.BringUp();
        await kubelet.WaitUntilAsync(Probe(container, "readinessProbe"), succeeds: true, TimeSpan.FromSeconds(20), web);
    }

    [Fact]
    public async Task DatabaseCa_AsDeclared_VerifiesTheServerForTheMigrationAndThePgDumpBackup()
    {
        var ca = TlsCertificate("PIEFED_TEST_POSTGRES_CA");
        var run = await ProgramAsync(StackConfig.Prod.WithField("database", "sslMode", "verify-full").WithField("database", "caSecret", "postgres-ca"));
        var databaseUrl = run.AppSecret().Str("stringData.DATABASE_URL")!;
        var query = databaseUrl[databaseUrl.IndexOf('?', StringComparison.Ordinal)..];
        var caMount = run.Single(JobType).Inputs.Objects("spec.template.spec.containers[0].volumeMounts").Single(m => m.Str("name") == DatabaseCa.VolumeName).Str("mountPath")!;
        Assert.Equal($"?sslmode=verify-full&sslrootcert={caMount}/ca.crt", query);
        var backups = Directory.CreateTempSubdirectory("piefed-backups-").FullName;
        try
        {
            // The test's CA stands where the pod mounts the Secret.
            var verifyingUrl = Database.SqlAlchemyUrl() + query.Replace(caMount + "/ca.crt", ca, StringComparison.Ordinal);

            await using (var migrate = DbInit.Start(Database, Redis, Image, databaseUrl: verifyingUrl))
            {
                await OutputAssert.ExitsWith(0, migrate, DbInit.HardTimeout);
                OutputAssert.Contains(migrate, "STANDIN-SEED: inserted the site row");
            }

            await using (var backup = DbInit.Start(Database, Redis, Image, mode: "backup", databaseUrl: verifyingUrl, backupDirectory: backups))
            {
                await OutputAssert.ExitsWith(0, backup, DbInit.HardTimeout);
            }

            Assert.Single(Directory.GetFiles(backups, "piefed-*.dump"));
        }
        finally
        {
            Directory.Delete(backups, recursive: true);
        }
    }

    [Fact]
    public async Task DatabaseCa_ThatDidNotSignTheServer_FailsAtOnceInsteadOfWaitingForAServerThatIsUp()
    {
        var otherCa = TlsCertificate("PIEFED_TEST_POSTGRES_OTHER_CA");

        await using var dbInit = DbInit.Start(
            Database, Redis, Image, databaseUrl: Database.SqlAlchemyUrl() + $"?sslmode=verify-full&sslrootcert={otherCa}", dependencyTimeoutSeconds: 600);

        await OutputAssert.ExitsWith(1, dbInit, DbInit.HardTimeout);
        OutputAssert.Contains(dbInit, "its certificate was refused");
        OutputAssert.Contains(dbInit, "piefed:database.caSecret");
        OutputAssert.DoesNotContain(dbInit, "not ready");
    }

    /// <summary>A certificate of the CA that .ci/run makes for the tests' PostgreSQL, whose TLS it turns on.</summary>
    private static string TlsCertificate(string variable)
        => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } path && File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"{variable} must name a CA certificate: the tests need the real PostgreSQL with TLS on, its certificate signed by "
                + "PIEFED_TEST_POSTGRES_CA for 127.0.0.1, and PIEFED_TEST_POSTGRES_OTHER_CA signing nothing. .ci/run sets this up (see its TLS section).");

    private static (string Path, TimeSpan Timeout) Probe(JsonNode container, string probe)
        => (container.Str($"{probe}.httpGet.path")!, TimeSpan.FromSeconds(container.At($"{probe}.timeoutSeconds")!.GetValue<double>()));

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<IReadOnlyList<string>> AdministratorsAsync()
        => await Database.QueryColumnAsync(
            "SELECT u.user_name || ' ' || r.name FROM \"user\" u JOIN user_role ur ON ur.user_id = u.id JOIN role r ON r.id = ur.role_id WHERE r.name = 'Admin'");

    /// <summary>An HTTP probe as the kubelet makes it: a GET with the probe's timeout; 200 to 399 is success.</summary>
    private sealed class Kubelet(int port) : IDisposable
    {
        private readonly HttpClient _client = new() { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")) };

        public async Task<bool> SucceedsAsync((string Path, TimeSpan Timeout) probe)
        {
            using var timeout = new CancellationTokenSource(probe.Timeout);
            try
            {
                using var response = await _client.GetAsync(probe.Path, timeout.Token);
                return (int)response.StatusCode is >= 200 and < 400;
            }
            catch (Exception error) when (error is HttpRequestException or OperationCanceledException)
            {
                return false;
            }
        }

        public async Task WaitUntilAsync((string Path, TimeSpan Timeout) probe, bool succeeds, TimeSpan limit, ScriptProcess server)
        {
            var deadline = DateTime.UtcNow + limit;
            while (await SucceedsAsync(probe) != succeeds)
            {
                Assert.False(server.HasExited, $"the server exited:\n{server.Output}");
                Assert.True(DateTime.UtcNow < deadline, $"{probe.Path} did not {(succeeds ? "succeed" : "fail")} within {limit.TotalSeconds} s:\n{server.Output}");
                await Task.Delay(250);
            }
        }

        public void Dispose() => _client.Dispose();
    }
}
