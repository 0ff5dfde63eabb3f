using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The real loopback Redis of the tests (PIEFED_TEST_REDIS_URL). It is never faked: when it cannot be
/// reached the test fails and says how to start it. Each test has a database of its own, leased
/// for its lifetime and emptied when it is returned, so tests that run at once never read each
/// other's keys; 0 and 1 stay out of the lease, for the URLs the program itself writes with its
/// default <c>redis.brokerDb</c> and <c>redis.cacheDb</c>.
/// </summary>
public sealed class TestRedis : IAsyncDisposable
{
    private const int FirstLeasedDatabase = 2;

    /// <summary>Redis's default <c>databases 16</c>.</summary>
    private const int DatabaseCount = 16;

    private static readonly System.Collections.Concurrent.ConcurrentQueue<int> FreeDatabases = new(Enumerable.Range(FirstLeasedDatabase, DatabaseCount - FirstLeasedDatabase));
    private static readonly SemaphoreSlim Leases = new(DatabaseCount - FirstLeasedDatabase);

    private const string DefaultUrl = "redis://:piefed_test@127.0.0.1:6379/0";
    private const string HowToStart = "Start it: redis-server --bind 127.0.0.1 --port 6379 --requirepass piefed_test --daemonize yes; "
        + "or point PIEFED_TEST_REDIS_URL at one (redis://:password@host:port/db).";

    private readonly Uri _url;
    private int? _database;

    private TestRedis(Uri url) => _url = url;

    /// <summary>The database this test writes to.</summary>
    public int Database => _database ?? throw new ObjectDisposedException(nameof(TestRedis));

    public IPEndPoint ServerEndpoint => new(IPAddress.Parse(_url.Host), _url.Port);

    public string Password => Uri.UnescapeDataString(_url.UserInfo.TrimStart(':'));

    public static async Task<TestRedis> ConnectAsync()
    {
        var url = new Uri(Environment.GetEnvironmentVariable("PIEFED_TEST_REDIS_URL") is { Length: > 0 } configured ? configured : DefaultUrl);
        var redis = new TestRedis(url);
        string answer;
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(redis.ServerEndpoint);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.UTF8.GetBytes(Command("AUTH", redis.Password) + Command("PING")));
            using var reader = new StreamReader(stream, Encoding.UTF8);
            answer = $"{await reader.ReadLineAsync()} {await reader.ReadLineAsync()}";
        }
        catch (SocketException error)
        {
            throw new InvalidOperationException($"The tests need a real Redis at {redis.ServerEndpoint} (PIEFED_TEST_REDIS_URL): {error.Message}. {HowToStart}", error);
        }

        if (answer != "+OK +PONG")
        {
            throw new InvalidOperationException($"The Redis at {redis.ServerEndpoint} answered AUTH and PING with \"{answer}\". {HowToStart}");
        }

        await Leases.WaitAsync();
        redis._database = FreeDatabases.TryDequeue(out var database) ? database : throw new InvalidOperationException("A lease without a free database.");
        return redis;
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not { } database)
        {
            return;
        }

        _database = null;
        var index = database.ToString(CultureInfo.InvariantCulture);
        await SendAsync(Command("AUTH", Password) + Command("SELECT", index) + Command("FLUSHDB"), 3);
        FreeDatabases.Enqueue(database);
        Leases.Release();
    }

    /// <summary>CACHE_REDIS_URL as the Pulumi program writes it (the password as it is), optionally through another port or with another password.</summary>
    public string Url(int? port = null, string? password = null)
    {
        var userInfo = password ?? Password;
        var credentials = userInfo.Length == 0 ? "" : $":{userInfo}@";
        return string.Create(CultureInfo.InvariantCulture, $"redis://{credentials}{_url.Host}:{port ?? _url.Port}/{Database}");
    }

    /// <summary>Lets the default user also log in with <paramref name="password"/> until disposed (Redis ACLs keep several passwords per user).</summary>
    public async Task<IAsyncDisposable> AcceptPasswordAsync(string password)
    {
        var answer = await SendAsync(Command("AUTH", Password) + Command("ACL", "SETUSER", "default", $">{password}"), 2);
        return answer == "+OK +OK"
            ? new PasswordGrant(this, password)
            : throw new InvalidOperationException($"The Redis at {ServerEndpoint} refused to add a password to the default user: \"{answer}\" (Redis 6 or later is needed).");
    }

    private async Task<string> SendAsync(string commands, int answers)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(ServerEndpoint);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(commands));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lines = new List<string>();
        for (var i = 0; i < answers; i++)
        {
            lines.Add(await reader.ReadLineAsync() ?? "");
        }

        return string.Join(' ', lines);
    }

    private sealed class PasswordGrant(TestRedis redis, string password) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
            => await redis.SendAsync(Command("AUTH", redis.Password) + Command("ACL", "SETUSER", "default", $"<{password}"), 2);
    }

    private static string Command(params string[] parts) =>
        $"*{parts.Length}\r\n" + string.Concat(parts.Select(part => $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n"));
}
