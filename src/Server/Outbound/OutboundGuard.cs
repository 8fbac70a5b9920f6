using System.Net;
using System.Net.Sockets;
using McpSecurity.Core;

namespace McpSecurity.Server.Outbound;

/// <summary>
/// Guards every outbound connection against server-side request forgery: the host name is resolved once,
/// every address is checked, and the connection goes to the checked address (no second lookup, so DNS
/// rebinding cannot swap it). Loopback, private, link-local (cloud metadata), carrier-grade NAT, unique-local,
/// multicast and unspecified addresses are denied unless a configured network allows them.
/// Redirects open new connections, which pass through the same check.
/// </summary>
public sealed class OutboundGuard
{
    private static readonly (IPAddress Network, int Prefix)[] Denied =
    [
        (IPAddress.Parse("0.0.0.0"), 8), (IPAddress.Parse("10.0.0.0"), 8), (IPAddress.Parse("100.64.0.0"), 10),
        (IPAddress.Parse("127.0.0.0"), 8), (IPAddress.Parse("169.254.0.0"), 16), (IPAddress.Parse("172.16.0.0"), 12),
        (IPAddress.Parse("192.0.0.0"), 24), (IPAddress.Parse("192.168.0.0"), 16), (IPAddress.Parse("198.18.0.0"), 15),
        (IPAddress.Parse("224.0.0.0"), 4), (IPAddress.Parse("240.0.0.0"), 4),
        (IPAddress.Parse("::"), 128), (IPAddress.Parse("::1"), 128), (IPAddress.Parse("fc00::"), 7), (IPAddress.Parse("fe80::"), 10),
        (IPAddress.Parse("ff00::"), 8),
    ];

    private readonly (IPAddress Network, int Prefix)[] _allowed;

    /// <summary>Creates a guard; <paramref name="allowedNetworks"/> are CIDRs (e.g. <c>127.0.0.0/8</c>) exempt from the deny list.</summary>
    public OutboundGuard(IEnumerable<string>? allowedNetworks)
    {
        var list = new List<(IPAddress, int)>();
        foreach (var cidr in allowedNetworks ?? [])
        {
            list.Add(ParseCidr(cidr));
        }

        _allowed = [.. list];
    }

    /// <summary>True when a connection to the address is permitted.</summary>
    public bool IsAllowed(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var (network, prefix) in _allowed)
        {
            if (InNetwork(address, network, prefix))
            {
                return true;
            }
        }

        foreach (var (network, prefix) in Denied)
        {
            if (InNetwork(address, network, prefix))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the address is inside a configured allowed network (not merely outside the deny list).</summary>
    public bool IsAllowedByConfiguration(IPAddress address)
    {
        foreach (var (network, prefix) in _allowed)
        {
            if (InNetwork(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, network, prefix))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An HTTP client whose every connection passes this guard.</summary>
    public HttpClient CreateClient(TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken).ConfigureAwait(false);
                foreach (var address in addresses)
                {
                    if (!IsAllowed(address))
                    {
                        throw new HttpRequestException($"Outbound connection to {context.DnsEndPoint.Host} ({address}) refused: loopback, private, link-local and metadata addresses are denied unless allowed in Outbound:AllowedNetworks.");
                    }
                }

                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { Timeout = timeout };
    }

    private static (IPAddress, int) ParseCidr(string cidr)
    {
        var slash = cidr.IndexOf('/', StringComparison.Ordinal);
        var ok = IPAddress.TryParse(slash < 0 ? cidr : cidr[..slash], out var address);
        var prefix = 0;
        if (ok && slash >= 0)
        {
            ok = int.TryParse(cidr.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out prefix);
        }
        else if (ok)
        {
            prefix = address!.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        }

        if (!ok || prefix < 0 || prefix > (address!.AddressFamily == AddressFamily.InterNetwork ? 32 : 128))
        {
            throw new ValidationException("Outbound:AllowedNetworks", $"'{cidr}' is not a CIDR network such as 127.0.0.0/8 or fd00::/8.");
        }

        return (address, prefix);
    }

    private static bool InNetwork(IPAddress address, IPAddress network, int prefix)
    {
        if (address.AddressFamily != network.AddressFamily)
        {
            return false;
        }

        Span<byte> a = stackalloc byte[16];
        Span<byte> n = stackalloc byte[16];
        address.TryWriteBytes(a, out var length);
        network.TryWriteBytes(n, out _);
        for (var i = 0; i < length && prefix > 0; i++, prefix -= 8)
        {
            var mask = prefix >= 8 ? 0xFF : (byte)(0xFF << (8 - prefix));
            if ((a[i] & mask) != (n[i] & mask))
            {
                return false;
            }
        }

        return true;
    }
}
