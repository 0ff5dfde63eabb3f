using System.Net;
using System.Net.Sockets;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// A loopback port that refuses connections, exactly like a server that has not started yet, until
/// <see cref="BringUp"/>; from then on it forwards every connection to the real server behind it.
/// The tests use it to make a real PostgreSQL, Redis or API server "come up" at a chosen instant.
/// <see cref="BringUpUnresponsive"/> instead accepts connections and never answers, like a hung server.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly List<Task> _connections = [];
    private readonly Lock _connectionsLock = new();
    private TcpListener? _listener;
    private Task? _accepting;
    private CancellationTokenSource? _session;

    public TcpForwarder(IPEndPoint target)
    {
        _target = target;
        // Bound and released at once: afterwards nothing listens on it, so connections are refused.
        var probe = new TcpListener(target.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0);
        probe.Start();
        Endpoint = (IPEndPoint)probe.LocalEndpoint;
        probe.Stop();
    }

    public IPEndPoint Endpoint { get; }

    public int Port => Endpoint.Port;

    public void BringUp() => Listen(ForwardAsync);

    /// <summary>
    /// The server goes away, as in an outage: the port refuses new connections and every open one
    /// is closed. <see cref="BringUp"/> brings it back on the same port.
    /// </summary>
    public async Task TakeDownAsync()
    {
        if (_session is not { } session)
        {
            return;
        }

        await session.CancelAsync();
        _listener?.Stop();
        if (_accepting is not null)
        {
            await _accepting;
        }

        Task[] connections;
        lock (_connectionsLock)
        {
            connections = [.. _connections];
            _connections.Clear();
        }

        await Task.WhenAll(connections);
        session.Dispose();
        _session = null;
    }

    public void BringUpUnresponsive() => Listen(HoldAsync);

    public async ValueTask DisposeAsync() => await TakeDownAsync();

    private static async Task HoldAsync(TcpClient client, CancellationToken stopping)
    {
        using (client)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, stopping);
            }
            catch (OperationCanceledException)
            {
                // The test is over.
            }
        }
    }

    private void Listen(Func<TcpClient, CancellationToken, Task> serve)
    {
        _session = new CancellationTokenSource();
        _listener = new TcpListener(Endpoint);
        _listener.Start();
        _accepting = AcceptAsync(_listener, serve, _session.Token);
    }

    private async Task AcceptAsync(TcpListener listener, Func<TcpClient, CancellationToken, Task> serve, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping);
            }
            catch (Exception error) when (error is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_connectionsLock)
            {
                _connections.Add(serve(client, stopping));
            }
        }
    }

    private async Task ForwardAsync(TcpClient client, CancellationToken stopping)
    {
        using (client)
        using (var server = new TcpClient(_target.AddressFamily))
        {
            try
            {
                await server.ConnectAsync(_target, stopping);
                var clientStream = client.GetStream();
                var serverStream = server.GetStream();
                // When either side hangs up, the other is closed by the using blocks.
                await Task.WhenAny(
                    clientStream.CopyToAsync(serverStream, stopping),
                    serverStream.CopyToAsync(clientStream, stopping));
            }
            catch (Exception error) when (error is OperationCanceledException or IOException or SocketException)
            {
                // A connection torn down by either side or by the end of the test is not a failure.
            }
        }
    }
}
