using System.Net;
using System.Net.Sockets;

namespace McpSecurity.Response.Actions;

/// <summary>An outbound connection was refused by the SSRF policy (never retried).</summary>
public sealed class OutboundRefusedException(string message) : IOException(message);

/// <summary>
/// Every outbound connection of the response module: HTTP clients and raw sockets (SMTP). The host name is
/// resolved once, each address is checked by the platform's SSRF policy (the server passes
/// <c>OutboundGuard.IsAllowed</c>), and the connection goes to the checked address. Redirects open new
/// connections and pass the same check, so a redirect to a denied address is refused.
/// </summary>
public sealed class OutboundConnector : IDisposable
{
    private readonly Func<IPAddress, bool> _isAllowed;
    private readonly HttpClient _client;

    /// <summary>Creates a connector with the given address policy.</summary>
    public OutboundConnector(Func<IPAddress, bool> isAllowed, TimeSpan? httpTimeout = null)
    {
        _isAllowed = isAllowed;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = 256,
            ConnectCallback = async (context, ct) => new NetworkStream(await ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct).ConfigureAwait(false), ownsSocket: true),
        };
        _client = new HttpClient(handler) { Timeout = httpTimeout ?? TimeSpan.FromSeconds(100) };
    }

    /// <summary>The shared HTTP client; per-request timeouts come from the step's cancellation token.</summary>
    public HttpClient Http => _client;

    /// <summary>Resolves, checks and connects a TCP socket.</summary>
    public async Task<Socket> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new IOException($"'{host}' did not resolve to any address.");
        }

        foreach (var address in addresses)
        {
            if (!_isAllowed(address))
            {
                throw new OutboundRefusedException($"Outbound connection to {host} ({address}) refused: loopback, private, link-local and metadata addresses are denied unless allowed in Outbound:AllowedNetworks.");
            }
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}
