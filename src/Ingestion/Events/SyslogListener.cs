using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace McpSecurity.Ingestion.Events;

/// <summary>The transport a syslog message arrived on.</summary>
public enum SyslogTransport
{
    /// <summary>One message per UDP datagram (RFC 5426).</summary>
    Udp,

    /// <summary>A TCP stream with octet-counting or line-feed framing (RFC 6587).</summary>
    Tcp,
}

/// <summary>A syslog message received by <see cref="SyslogListener"/>.</summary>
/// <param name="Message">The parsed message.</param>
/// <param name="Remote">The sender.</param>
/// <param name="Transport">The transport it arrived on.</param>
public sealed record SyslogReceived(SyslogMessage Message, IPEndPoint Remote, SyslogTransport Transport);

/// <summary>Something the listener refused or could not do; reading goes on.</summary>
/// <param name="Remote">The peer concerned, when known.</param>
/// <param name="Reason">What happened, in plain words.</param>
public sealed record SyslogListenerError(IPEndPoint? Remote, string Reason);

/// <summary>Settings for <see cref="SyslogListener"/>.</summary>
public sealed class SyslogListenerOptions
{
    /// <summary>The address to bind; default loopback. Use <see cref="IPAddress.Any"/> to accept from the network.</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Loopback;

    /// <summary>The port for both UDP and TCP; 0 picks a free port (see <see cref="SyslogListener.UdpEndPoint"/>). Default 514.</summary>
    public int Port { get; init; } = 514;

    /// <summary>Listen on UDP. Default true.</summary>
    public bool EnableUdp { get; init; } = true;

    /// <summary>Listen on TCP. Default true.</summary>
    public bool EnableTcp { get; init; } = true;

    /// <summary>The largest message accepted, in bytes; larger ones are reported and dropped. Default 64 KiB.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024;

    /// <summary>The most TCP connections served at once; more are closed on arrival. Default 256.</summary>
    public int MaxConnections { get; init; } = 256;

    /// <summary>A TCP connection that sends nothing for this long is closed. Default 5 minutes.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Parser settings (the message size limit is taken from <see cref="MaxMessageBytes"/>).</summary>
    public SyslogParserOptions ParserOptions { get; init; } = SyslogParserOptions.Default;

    /// <summary>Called for every refused message or connection and every failing callback; may be null.</summary>
    public Action<SyslogListenerError>? OnError { get; init; }
}

/// <summary>
/// Receives syslog over UDP and TCP, parses each message with <see cref="SyslogParser"/> and hands it to a
/// callback or a <see cref="ChannelWriter{T}"/>.
/// </summary>
/// <remarks>
/// TCP framing follows RFC 6587 and is decided per message: a frame that starts with a digit is
/// octet-counted (<c>LEN SP MSG</c>), anything else runs to the next line feed. An octet count above
/// <see cref="SyslogListenerOptions.MaxMessageBytes"/> closes the connection (the stream cannot be trusted any
/// more); an over-long line is dropped up to its line feed and the connection stays open. A failing callback
/// is reported through <see cref="SyslogListenerOptions.OnError"/> and does not stop the listener; a bounded
/// channel slows the readers down instead of buffering without limit.
/// </remarks>
public sealed class SyslogListener : IAsyncDisposable
{
    private const int MaxOctetCountDigits = 10;

    private readonly SyslogListenerOptions _options;
    private readonly SyslogParserOptions _parserOptions;
    private readonly Func<SyslogReceived, CancellationToken, ValueTask> _onMessage;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly Lock _connectionsLock = new();
    private readonly HashSet<Socket> _connections = [];
    private Socket? _udp;
    private Socket? _tcp;
    private long _received;
    private long _rejected;
    private int _started;

    /// <summary>Creates a listener that calls a callback for every message.</summary>
    /// <param name="options">Where to listen and the limits.</param>
    /// <param name="onMessage">Called once per message, one call at a time per connection.</param>
    public SyslogListener(SyslogListenerOptions options, Func<SyslogReceived, CancellationToken, ValueTask> onMessage)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(onMessage);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port, IPEndPoint.MaxPort);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxMessageBytes, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConnections, 1);
        if (!options.EnableTcp && !options.EnableUdp)
        {
            throw new ArgumentException("Enable UDP, TCP or both (SyslogListenerOptions.EnableUdp / EnableTcp).", nameof(options));
        }

        _options = options;
        _onMessage = onMessage;
        _parserOptions = new SyslogParserOptions
        {
            ReferenceTime = options.ParserOptions.ReferenceTime,
            DefaultOffset = options.ParserOptions.DefaultOffset,
            MaxMessageBytes = options.MaxMessageBytes,
        };
    }

    /// <summary>Creates a listener that writes every message to a channel.</summary>
    /// <param name="options">Where to listen and the limits.</param>
    /// <param name="writer">The channel to write to; a bounded channel applies back-pressure.</param>
    public SyslogListener(SyslogListenerOptions options, ChannelWriter<SyslogReceived> writer)
        : this(options, (writer ?? throw new ArgumentNullException(nameof(writer))).WriteAsync)
    {
    }

    /// <summary>The bound UDP end point (with the real port when 0 was asked for); null when UDP is off or not started.</summary>
    public IPEndPoint? UdpEndPoint => _udp?.LocalEndPoint as IPEndPoint;

    /// <summary>The bound TCP end point; null when TCP is off or not started.</summary>
    public IPEndPoint? TcpEndPoint => _tcp?.LocalEndPoint as IPEndPoint;

    /// <summary>Messages parsed and handed over so far.</summary>
    public long MessagesReceived => Interlocked.Read(ref _received);

    /// <summary>Messages and connections refused so far (too large, empty, over the connection limit).</summary>
    public long MessagesRejected => Interlocked.Read(ref _rejected);

    /// <summary>Binds the sockets (so the end points are known when this returns) and starts receiving.</summary>
    /// <exception cref="SocketException">A socket could not be bound, for example because the port is in use.</exception>
    /// <exception cref="InvalidOperationException">The listener was already started.</exception>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The syslog listener is already started.");
        }

        var endPoint = new IPEndPoint(_options.BindAddress, _options.Port);
        if (_options.EnableTcp)
        {
            _tcp = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            _tcp.Bind(endPoint);
            _tcp.Listen(128);
            _loops.Add(Task.Run(AcceptLoopAsync));
        }

        if (_options.EnableUdp)
        {
            // With port 0 and both transports, use the port TCP got so that both share one number.
            var udpEndPoint = _options.Port == 0 && _tcp is not null ? new IPEndPoint(_options.BindAddress, TcpEndPoint!.Port) : endPoint;
            _udp = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            _udp.Bind(udpEndPoint);
            _loops.Add(Task.Run(UdpLoopAsync));
        }
    }

    /// <summary>Stops receiving, closes every socket and waits for the receive loops to end.</summary>
    /// <returns>A task that completes when everything is closed.</returns>
    public async Task StopAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _udp?.Dispose();
        _tcp?.Dispose();
        lock (_connectionsLock)
        {
            foreach (var socket in _connections)
            {
                socket.Dispose();
            }
        }

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task UdpLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(65536);
        var any = new IPEndPoint(_options.BindAddress.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                SocketReceiveFromResult result;
                try
                {
                    result = await _udp!.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException ex)
                {
                    // ICMP port-unreachable and the like on some platforms: report and keep listening.
                    Report(null, "UDP receive failed: " + ex.Message);
                    continue;
                }

                var remote = (IPEndPoint)result.RemoteEndPoint;
                var received = Parse(buffer.AsSpan(0, result.ReceivedBytes), remote, SyslogTransport.Udp);
                if (received is not null)
                {
                    await DeliverAsync(received).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task AcceptLoopAsync()
    {
        var connections = new List<Task>();
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _tcp!.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex)
            {
                Report(null, "TCP accept failed: " + ex.Message);
                continue;
            }

            var accepted = false;
            lock (_connectionsLock)
            {
                if (_connections.Count < _options.MaxConnections)
                {
                    _connections.Add(client);
                    accepted = true;
                }
            }

            if (!accepted)
            {
                Interlocked.Increment(ref _rejected);
                Report(client.RemoteEndPoint as IPEndPoint, string.Create(CultureInfo.InvariantCulture,
                    $"Connection refused: {_options.MaxConnections} connections are open (SyslogListenerOptions.MaxConnections)."));
                client.Dispose();
                continue;
            }

            connections.RemoveAll(t => t.IsCompleted);
            connections.Add(Task.Run(() => ConnectionLoopAsync(client)));
        }

        await Task.WhenAll(connections).ConfigureAwait(false);
    }

    private async Task ConnectionLoopAsync(Socket client)
    {
        var remote = client.RemoteEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        var framer = new TcpFramer(_options.MaxMessageBytes);
        var frames = new List<byte[]>();
        var errors = new List<string>();
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        try
        {
            while (true)
            {
                idle.CancelAfter(_options.IdleTimeout);
                int n;
                try
                {
                    n = await client.ReceiveAsync(framer.FreeSpace(), SocketFlags.None, idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                {
                    Report(remote, "Connection closed after being idle for " + _options.IdleTimeout.ToString("c", CultureInfo.InvariantCulture) + " (SyslogListenerOptions.IdleTimeout).");
                    return;
                }

                var closeAfter = !framer.Advance(n, frames, errors);
                foreach (var error in errors)
                {
                    Interlocked.Increment(ref _rejected);
                    Report(remote, error);
                }

                foreach (var frame in frames)
                {
                    var received = Parse(frame, remote, SyslogTransport.Tcp);
                    if (received is not null)
                    {
                        await DeliverAsync(received).ConfigureAwait(false);
                    }
                }

                frames.Clear();
                errors.Clear();
                if (closeAfter || n == 0)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The peer went away or the listener is stopping.
        }
        finally
        {
            lock (_connectionsLock)
            {
                _connections.Remove(client);
            }

            client.Dispose();
        }
    }

    private SyslogReceived? Parse(ReadOnlySpan<byte> bytes, IPEndPoint remote, SyslogTransport transport)
    {
        if (SyslogParser.TryParse(bytes, out var message, _parserOptions))
        {
            return new SyslogReceived(message, remote, transport);
        }

        if (bytes.Length > _options.MaxMessageBytes)
        {
            Interlocked.Increment(ref _rejected);
            Report(remote, string.Create(CultureInfo.InvariantCulture,
                $"{transport} message of {bytes.Length} bytes dropped: larger than {_options.MaxMessageBytes} (SyslogListenerOptions.MaxMessageBytes)."));
        }

        return null;
    }

    private async ValueTask DeliverAsync(SyslogReceived received)
    {
        try
        {
            await _onMessage(received, _stop.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _received);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Report(received.Remote, "The message handler failed: " + ex.Message);
        }
    }

    private void Report(IPEndPoint? remote, string reason)
    {
        try
        {
            _options.OnError?.Invoke(new SyslogListenerError(remote, reason));
        }
        catch (Exception)
        {
            // An error sink that throws must not take the listener down.
        }
    }

    /// <summary>RFC 6587 framing over a fixed buffer: octet counting or line-feed delimited, decided per frame.</summary>
    private sealed class TcpFramer(int maxMessageBytes)
    {
        private readonly byte[] _buffer = new byte[maxMessageBytes + MaxOctetCountDigits + 2];
        private int _start;
        private int _end;
        private bool _discardingLine;

        public Memory<byte> FreeSpace()
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            return _buffer.AsMemory(_end);
        }

        /// <summary>Takes <paramref name="count"/> new bytes; returns false when the connection must be closed.</summary>
        public bool Advance(int count, List<byte[]> frames, List<string> errors)
        {
            _end += count;
            var atEnd = count == 0;
            while (_start < _end)
            {
                var data = _buffer.AsSpan(_start, _end - _start);
                if (_discardingLine)
                {
                    var lf = data.IndexOf((byte)'\n');
                    if (lf < 0)
                    {
                        _start = _end;
                        return true;
                    }

                    _start += lf + 1;
                    _discardingLine = false;
                    continue;
                }

                if (data[0] is (byte)'\n' or (byte)'\r' or 0)
                {
                    _start++;
                    continue;
                }

                if (data[0] is >= (byte)'1' and <= (byte)'9')
                {
                    var sp = data[..Math.Min(data.Length, MaxOctetCountDigits + 1)].IndexOf((byte)' ');
                    if (sp < 0)
                    {
                        if (data.Length > MaxOctetCountDigits || !IsAllDigits(data))
                        {
                            errors.Add("Bad octet count at the start of a TCP frame (RFC 6587 section 3.4.1); connection closed.");
                            return false;
                        }

                        return !atEnd;
                    }

                    if (!IsAllDigits(data[..sp]) || !long.TryParse(data[..sp], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
                    {
                        errors.Add("Bad octet count at the start of a TCP frame (RFC 6587 section 3.4.1); connection closed.");
                        return false;
                    }

                    if (length > maxMessageBytes)
                    {
                        errors.Add(string.Create(CultureInfo.InvariantCulture,
                            $"TCP frame announces {length} bytes, more than {maxMessageBytes} (SyslogListenerOptions.MaxMessageBytes); connection closed."));
                        return false;
                    }

                    if (data.Length < sp + 1 + length)
                    {
                        if (atEnd)
                        {
                            errors.Add("The connection closed in the middle of an octet-counted frame.");
                        }

                        return !atEnd;
                    }

                    frames.Add(data.Slice(sp + 1, (int)length).ToArray());
                    _start += sp + 1 + (int)length;
                    continue;
                }

                var end = data.IndexOf((byte)'\n');
                if (end < 0)
                {
                    if (data.Length > maxMessageBytes)
                    {
                        errors.Add(string.Create(CultureInfo.InvariantCulture,
                            $"TCP line longer than {maxMessageBytes} bytes (SyslogListenerOptions.MaxMessageBytes) dropped up to its line feed."));
                        _discardingLine = true;
                        _start = _end;
                        return true;
                    }

                    if (atEnd)
                    {
                        frames.Add(data.ToArray()); // the last line may lack its line feed
                        _start = _end;
                    }

                    return !atEnd;
                }

                if (end > maxMessageBytes)
                {
                    errors.Add(string.Create(CultureInfo.InvariantCulture,
                        $"TCP line longer than {maxMessageBytes} bytes (SyslogListenerOptions.MaxMessageBytes) dropped."));
                }
                else
                {
                    frames.Add(data[..end].ToArray());
                }

                _start += end + 1;
            }

            return !atEnd;
        }

        private static bool IsAllDigits(ReadOnlySpan<byte> s)
        {
            foreach (var b in s)
            {
                if (b is < (byte)'0' or > (byte)'9')
                {
                    return false;
                }
            }

            return true;
        }
    }
}
